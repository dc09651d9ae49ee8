# One format for moments and one for dates, wherever Django or we show one (issue 21, point 6): ISO-like
# and unambiguous, on a 24-hour clock. Input formats are Django's own (this module does not set them).
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "Y-m-d H:i:s"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s"
