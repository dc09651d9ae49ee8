"""Numbers, money and moments as people read them, in the reader's language and the site's time zone.

One place for them, so that a page, an export and a Slack message say the same thing the same way. The
formats themselves are per language in common/locale_formats/ (FORMAT_MODULE_PATH): one for moments
(DATETIME_FORMAT), one for dates (DATE_FORMAT), one for a time of day (TIME_FORMAT)."""

from decimal import Decimal

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

DASH = "–"  # what an unknown or empty value reads as

# How a currency's unit reads after an amount; a code not listed reads as itself ("5,000 USD").
CURRENCY_UNITS = {"KRW": _("KRW")}


def number(value):
    """A count with the reader's grouping ("1,234,567"), or a dash when it is not known."""
    return DASH if value is None else formats.number_format(value, force_grouping=True)


def amount(value):
    """A decimal without its empty cents: 5000.00 reads "5,000", 12.50 reads "12.50"."""
    value = Decimal(value)
    places = 0 if value == value.to_integral_value() else 2
    return formats.number_format(value, places, force_grouping=True)


def money(value):
    """An amount in the site's currency (CURRENCY): "5,000,000,000 KRW", in Korean "5,000,000,000원"."""
    if value is None:
        return DASH
    unit = CURRENCY_UNITS.get(settings.CURRENCY, settings.CURRENCY)
    return pgettext("money", "%(amount)s %(unit)s") % {"amount": amount(value), "unit": unit}


def discount(kind, value):
    """A coupon's discount: "10%" off, or an amount of money off."""
    if value is None:
        return DASH
    return f"{amount(value)}%" if kind == "percent" else money(value)


def moment(value, *, empty=DASH):
    """A moment: "2026-12-02 14:00:05" (Korean "2026-12-02 오후 2:00:05") in the site's time zone."""
    if not value:
        return empty
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")


def time_of_day(value):
    """The time of a moment today: "14:00" (Korean "오후 2:00")."""
    return formats.date_format(timezone.localtime(value), "TIME_FORMAT")


def day(value, *, empty=DASH):
    """A date: "2026-12-02"."""
    return formats.date_format(value, "DATE_FORMAT") if value else empty
