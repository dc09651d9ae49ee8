"""The issued-coupon look-up: "does member X hold coupon Y, is it usable, until when?"

Takes what people type (a member id with separators or spaces, a coupon by id, code or name) and
never drops a filter it did not understand: it says so and lists nothing. A member's coupons come from
selectors.member_coupons (the primary key probed once per coupon); other filters walk the primary key
page by page. The table is never counted.
"""

import re

from django.conf import settings
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from common.routers import replica_reads

from .models import MEMBER_ID_MAX, Coupon, DistributionRequest, IssuedCoupon
from .selectors import member_coupons

SEPARATORS = re.compile(r"[\s,._'’]")


def parse_number(text):
    """An id as people type it ("2,519,091 ", "2 519 091"); None if it is not one (a positive bigint)."""
    digits = SEPARATORS.sub("", text or "")
    return int(digits) if digits.isdecimal() and 0 < int(digits) <= MEMBER_ID_MAX else None


def coupons_matching(text):
    """Coupons a support agent means by `text`: an exact code, else an id, else names containing it."""
    text = text.strip()
    by_code = list(Coupon.objects.filter(code__iexact=text))
    if by_code:
        return by_code
    number = parse_number(text)
    if number is not None and (by_id := list(Coupon.objects.filter(pk=number))):
        return by_id
    return list(Coupon.objects.filter(name__icontains=text).order_by("pk")[:100])


class IssuedCouponLookup:
    """The filters as typed, what they were understood as, and the matching rows."""

    keys = ("user_id", "coupon", "request")

    def __init__(self, query):
        self.typed = {key: query.get(key, "").strip() for key in self.keys}
        self.errors, self.coupons, self.user_id, self.distribution = [], None, None, None
        self._understand()
        self.rows, self.has_next = [], False
        if not self.errors:
            with replica_reads():  # support's look-up tolerates a second of lag (common/routers.py)
                self._fetch(query.get("after", ""))

    def _understand(self):
        typed = self.typed
        if typed["user_id"]:
            self.user_id = parse_number(typed["user_id"])
            if self.user_id is None:
                self.errors.append(
                    _("“%(text)s” is not a member id: a member id is a whole number, such as 12345.")
                    % {"text": typed["user_id"]}
                )
        if typed["coupon"]:
            self.coupons = coupons_matching(typed["coupon"])
            if not self.coupons:
                self.errors.append(_("No coupon has the id, code or name “%(text)s”.") % {"text": typed["coupon"]})
        if typed["request"]:
            number = parse_number(typed["request"])
            self.distribution = DistributionRequest.objects.filter(pk=number).first() if number else None
            if self.distribution is None:
                self.errors.append(_("There is no distribution request “%(text)s”.") % {"text": typed["request"]})

    def _fetch(self, after):
        coupon_ids = [coupon.pk for coupon in self.coupons] if self.coupons is not None else None
        if self.distribution is not None:
            # The bulk table has no index on the request: its coupon narrows the key first.
            coupon_ids = [c for c in (coupon_ids or [self.distribution.coupon_id]) if c == self.distribution.coupon_id]
        if self.user_id is not None:
            rows = member_coupons(user_id=self.user_id, coupon_ids=coupon_ids)
            self.rows = [
                row for row in rows if self.distribution is None or row.distribution_id == self.distribution.pk
            ]
            return
        self._fetch_page(coupon_ids, after)

    def _fetch_page(self, coupon_ids, after):
        rows = IssuedCoupon.objects.select_related("coupon", "redeemed_by", "issue_call__client").order_by(
            "coupon_id", "user_id"
        )
        if coupon_ids is not None:
            rows = rows.filter(coupon_id__in=coupon_ids)
        if self.distribution is not None:
            rows = rows.filter(distribution_id=self.distribution.pk)
        parts = after.split(":")
        if len(parts) == 2 and all(part.isdecimal() for part in parts):
            rows = rows.filter(pk__gt=tuple(map(int, parts)))
        size = settings.ADMIN_ISSUED_COUPONS_PER_PAGE
        fetched = list(rows[: size + 1])
        self.rows, self.has_next = fetched[:size], len(fetched) > size

    @property
    def understood(self):
        """What the filters were read as, for the line above the results."""
        said = []
        if self.user_id is not None:
            said.append(_("member %(id)s") % {"id": self.user_id})
        if self.coupons:
            said.append(
                ", ".join(f"{coupon.name} ({coupon.code})" for coupon in self.coupons[:5])
                + ("…" if len(self.coupons) > 5 else "")
            )
        if self.distribution is not None:
            said.append(_("request #%(id)s") % {"id": self.distribution.pk})
        return said

    @property
    def form_values(self):
        """The boxes refilled with the numbers as digits only (never with thousand separators)."""
        values = dict(self.typed)
        if self.user_id is not None:
            values["user_id"] = str(self.user_id)
        return values

    @property
    def next_query(self):
        last = self.rows[-1]
        values = {key: value for key, value in self.typed.items() if value}
        return urlencode({**values, "after": f"{last.coupon_id}:{last.user_id}"})
