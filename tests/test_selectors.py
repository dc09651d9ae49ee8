"""Reads shared by the admin and the Coupon API."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from distribution import selectors
from distribution.models import Coupon, DistributionRequest, IssuedCoupon

State = IssuedCoupon.State


@pytest.fixture
def wallet(db, coupon):
    """Member 42 holds four coupons, one in each state; member 43 holds one."""
    now = timezone.now()
    coupons = [coupon] + [
        Coupon.objects.create(name=f"C{i}", code=f"C{i}", discount_kind="percent", discount_amount=5, valid_days=7)
        for i in range(3)
    ]
    distribution = DistributionRequest.objects.create(
        coupon=coupon, source="demo", table="t", column="c", memo="m", status="succeeded"
    )
    rows = [
        (coupons[0], {}),
        (coupons[1], {"used_at": now}),
        (coupons[2], {"deleted_at": now}),
        (coupons[3], {"expires_at": now - timedelta(days=1)}),
    ]
    for age, (held, changes) in enumerate(rows):
        IssuedCoupon.objects.create(
            **{
                "coupon": held,
                "user_id": 42,
                "distribution": distribution,
                "issued_at": now - timedelta(hours=age),
                "expires_at": now + timedelta(days=7),
                **changes,
            }
        )
    IssuedCoupon.objects.create(
        coupon=coupon, user_id=43, distribution=distribution, issued_at=now, expires_at=now + timedelta(days=7)
    )
    return coupons


def test_a_member_wallet_shows_each_coupon_with_its_state_newest_first(wallet):
    held = selectors.member_coupons(user_id=42)
    assert [(row.coupon.code, row.state()) for row in held] == [
        ("SPRING10", State.USABLE),
        ("C0", State.USED),
        ("C1", State.REVOKED),
        ("C2", State.EXPIRED),
    ]
    assert [row.coupon.code for row in selectors.member_coupons(user_id=42, states={State.USABLE})] == ["SPRING10"]
    assert selectors.member_coupons(user_id=7) == []


def test_a_member_lookup_is_one_query_probing_the_primary_key(wallet):
    with CaptureQueriesContext(connection) as queries:
        selectors.member_coupons(user_id=43, coupon_ids=[c.pk for c in wallet])
    assert len(queries) == 1
    assert '"user_id" = 43' in queries[0]["sql"] and '"coupon_id" IN' in queries[0]["sql"]
