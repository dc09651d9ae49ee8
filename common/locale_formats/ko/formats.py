# Korean reads its times as "오후 2:00" (A g:i); dates as 2026-12-02, never Django's "2026-12-2".
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "A g:i"
DATETIME_FORMAT = "Y-m-d A g:i:s"
SHORT_DATETIME_FORMAT = "Y-m-d A g:i:s"
