"""Shared by the Coupon API tests: a client with a key, and members holding a coupon."""

from datetime import timedelta

from django.utils import timezone

from api import services
from distribution.models import DistributionRequest, IssuedCoupon


def api_key(name="storefront", scopes=("issue", "read", "redeem")):
    client, key = services.api_client_create(name=name, scopes=list(scopes))
    return client, key


def bearer(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def hold(coupon, *user_ids, **changes):
    """Members holding the coupon through a finished distribution request (as the worker leaves them)."""
    now = timezone.now()
    distribution = DistributionRequest.objects.create(
        coupon=coupon, source="demo", table="t", column="c", memo="m", status="succeeded", issued_count=len(user_ids)
    )
    IssuedCoupon.objects.bulk_create(
        IssuedCoupon(
            **{
                "coupon": coupon,
                "user_id": user_id,
                "distribution": distribution,
                "issued_at": now,
                "expires_at": now + timedelta(days=coupon.valid_days),
                **changes,
            }
        )
        for user_id in user_ids
    )
    return distribution
