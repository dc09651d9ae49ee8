"""Numbers and moments as people read them, in the reader's language and the site's time zone.

One place for them, so that a page, an export and a Slack message say the same thing the same way."""

from django.utils import formats, timezone
from django.utils.translation import pgettext

DASH = "–"  # what an unknown or empty value reads as


def number(value):
    """A count with the reader's grouping ("1,234,567"), or a dash when it is not known."""
    return DASH if value is None else formats.number_format(value, force_grouping=True)


def local_moment(moment):
    """A moment as people read it: in the site's time zone (a coupon expiring at 00:00 KST on Jan. 1 reads
    Jan. 1, not Dec. 31), on a 24-hour clock, in the reader's language's word order."""
    return formats.date_format(timezone.localtime(moment), pgettext("date and time", "N j, Y, H:i"))


def timestamp(moment, *, seconds=True, empty=DASH):
    """A moment people scan in a list or a file: "2026-12-02 14:00:05" in the site's time zone."""
    if not moment:
        return empty
    return formats.date_format(timezone.localtime(moment), "Y-m-d H:i:s" if seconds else "Y-m-d H:i")
