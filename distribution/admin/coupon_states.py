"""Whether a coupon can be issued now, in words: the coupon list's state column and filter, and the warning
on saving one that is already expired (it then vanishes from the request form's list)."""

from django.contrib import admin
from django.db.models import Q, TextChoices
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.formats import moment


class CouponState(TextChoices):
    ISSUABLE = "issuable", _("Issuable")
    EXPIRED = "expired", _("Expired")
    INACTIVE = "inactive", _("Inactive")


def coupon_state(coupon, now=None):
    if not coupon.is_active:
        return CouponState.INACTIVE
    if coupon.is_expired(now):
        return CouponState.EXPIRED
    return CouponState.ISSUABLE


def expired_warning(coupon):
    return _(
        "Saved, but “%(code)s” expired at %(time)s: no request can issue it, so the request form does not list "
        "it. To issue it, set “issuable until” to a later moment or empty it."
    ) % {"code": coupon.code, "time": moment(coupon.issue_until)}


class CouponStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return CouponState.choices

    def queryset(self, request, queryset):
        expired = Q(issue_until__lte=timezone.now())
        return {
            CouponState.INACTIVE: queryset.filter(is_active=False),
            CouponState.EXPIRED: queryset.filter(expired, is_active=True),
            CouponState.ISSUABLE: queryset.filter(~expired, is_active=True),
        }.get(self.value(), queryset)
