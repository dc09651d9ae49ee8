"""Redeem and release: each one conditional UPDATE of the issued coupon's row, which is their only record.

Under Read Committed a second UPDATE of the same row waits for the first and re-checks its WHERE,
so of many concurrent redeems of one coupon exactly one changes the row. Only when none changed it
is the row read, once, to say why. Neither statement touches an indexed column, so PostgreSQL can
update in place (HOT) even while a bulk run writes the table.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from distribution.models import Coupon, IssuedCoupon

from ..errors import ApiError
from ..models import ApiClient
from ..selectors import coupon_by_code

logger = logging.getLogger("couponops.api")
State = IssuedCoupon.State


@dataclass(frozen=True)
class Redeemed:
    code: str
    user_id: int
    order_id: str
    redeemed_at: datetime


def _sql(template):
    quote = connection.ops.quote_name
    return template.format(table=quote(IssuedCoupon._meta.db_table), coupons=quote(Coupon._meta.db_table))


# The coupon is found by its code inside the UPDATE, through the unique index on LOWER(code) (codes are
# unique ignoring case): a redeem that succeeds is one statement, not a look-up and then an UPDATE.
REDEEM = """UPDATE {table} SET used_at = %s, order_id = %s, redeemed_by_id = %s
WHERE coupon_id = (SELECT id FROM {coupons} WHERE LOWER(code) = LOWER(%s))
AND user_id = %s AND used_at IS NULL AND deleted_at IS NULL AND expires_at > %s
RETURNING used_at"""
RELEASE = """UPDATE {table} SET used_at = NULL, order_id = NULL, redeemed_by_id = NULL
WHERE coupon_id = %s AND user_id = %s AND order_id = %s AND used_at IS NOT NULL
RETURNING user_id"""


def issued_coupon_redeem(*, client: ApiClient, code: str, user_id: int, order_id: str) -> Redeemed:
    """Marks the member's coupon (the coupon with this code) used by the order. The same order again gets
    the same answer; ApiError 404 unknown coupon or not held, 409 used by another order, 410 revoked or
    expired."""
    for _attempt in range(3):
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(_sql(REDEEM), [now, order_id, client.pk, code, user_id, now])
            row = cursor.fetchone()
        if row is not None:
            logger.info("API redeem: client=%s coupon=%s user=%s order=%s", client.name, code, user_id, order_id)
            return Redeemed(code, user_id, order_id, row[0])
        held = _held(coupon_by_code(code), user_id)  # only now: to say why
        if held.used_at is not None and held.order_id == order_id:
            return Redeemed(code, user_id, order_id, held.used_at)
        _refuse(held, now)
        # Usable after all: the row was committed (a bulk chunk, an issue call) or released between
        # our UPDATE and our read. Once more.
    raise ApiError(409, "conflict", _("This coupon changed while it was being redeemed; try again."))


def _refuse(held, now):
    state = held.state(now)
    if state == State.USED:
        raise ApiError(409, "already_redeemed", _("This coupon was already redeemed by another order."))
    if state == State.REVOKED:
        raise ApiError(410, "revoked", _("This coupon was revoked."))
    if state == State.EXPIRED:
        raise ApiError(410, "expired", _("This coupon expired on %(date)s.") % {"date": held.expires_at.isoformat()})


def issued_coupon_release(*, client: ApiClient, coupon: Coupon, user_id: int, order_id: str) -> IssuedCoupon:
    """Makes the coupon usable again if this order redeemed it (the order was cancelled); a coupon not
    redeemed (released already) stays as it is. ApiError 404 not held, 409 redeemed by another order."""
    with connection.cursor() as cursor:
        cursor.execute(_sql(RELEASE), [coupon.pk, user_id, order_id])
        released = cursor.fetchone() is not None
    held = _held(coupon, user_id)
    if released:
        logger.info("API release: client=%s coupon=%s user=%s order=%s", client.name, coupon.code, user_id, order_id)
    elif held.used_at is not None:
        raise ApiError(409, "redeemed_by_another_order", _("This coupon was redeemed by another order."))
    return held


def _held(coupon, user_id):
    held = IssuedCoupon.objects.filter(coupon_id=coupon.pk, user_id=user_id).first()
    if held is None:
        raise ApiError(404, "not_held", _("This member does not hold this coupon."))
    held.coupon = coupon
    return held
