"""Every read of the Coupon API."""

import hmac

from django.db.models import Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django.utils.translation import gettext as _

from distribution.models import Coupon, IssuedCoupon
from distribution.selectors import member_coupons

from .errors import ApiError
from .models import ApiClient, key_hash

State = IssuedCoupon.State


def api_client_for_key(key: str) -> ApiClient | None:
    """The client whose key this is, or None. The prefix finds the row; the hashes are compared in
    constant time, so the answer's timing says nothing about how much of a guess was right."""
    prefix = ApiClient.prefix_of(key)
    client = ApiClient.objects.filter(key_prefix=prefix).first() if prefix else None
    if client is None or not hmac.compare_digest(client.key_hash, key_hash(key)):
        return None
    return client


def coupon_by_code(code: str) -> Coupon:
    # Codes are unique ignoring case, by a unique index on LOWER(code): compared the same way, so that the
    # index finds it (`code__iexact` compares UPPER(code), which no index covers).
    coupon = Coupon.objects.filter(Exact(Lower("code"), Lower(Value(code)))).first()
    if coupon is None:
        raise ApiError(404, "unknown_coupon", _("There is no coupon with the code “%(code)s”.") % {"code": code})
    return coupon


def member_wallet(*, user_id: int, every_state: bool = False) -> list[IssuedCoupon]:
    """The member's coupons: the live ones (usable), or with `every_state` also used, revoked and expired."""
    return member_coupons(user_id=user_id, states=None if every_state else {State.USABLE}, related=("coupon",))
