"""A 150,000-member run (8 chunks) with a 10 % control group, the worker killed (SIGKILL) mid-run: counts stay exact.

The held-out rows are COPYed in each chunk's transaction, so a kill anywhere leaves coupons, held-out rows
and progress together, and the resumed run adds exactly the rest (tests/test_crashes.py's harness)."""

import time
from decimal import Decimal

import pytest
from django.db import connection

from distribution import services
from distribution.holdout import coupon_holdout
from distribution.models import Coupon, DistributionRequest, HeldOutMember, IssuedCoupon
from tests import test_crashes
from tests.harness.cluster import qcluster
from tests.helpers import by, wait_for

Status = DistributionRequest.Status
env = test_crashes.env  # the fixture, shared
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MEMBERS = 150_000  # tpch.sf1.customer's custkeys
KILL_POINTS = [
    "copy:streaming@3",  # the first chunk: its coupons' COPY done (two reads), inside its held-out rows' COPY
    "chunk:written@4",  # coupons and held-out rows written, progress not yet recorded
    "chunk:recorded@5",  # written and recorded, not committed
]


def assert_exact(distribution):
    distribution.refresh_from_db()
    assert distribution.status == Status.SUCCEEDED and distribution.read_count == MEMBERS
    assert distribution.held_out_count == distribution.holdout_count > 0  # the run met the preview's count
    assert distribution.issued_count + distribution.held_out_count == MEMBERS
    assert IssuedCoupon.objects.filter(coupon_id=distribution.coupon_id).count() == distribution.issued_count
    assert HeldOutMember.objects.filter(distribution=distribution).count() == distribution.held_out_count
    rule = coupon_holdout(distribution.coupon)  # its SQL has % signs: doubled beside query parameters
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE NOT ("
            + rule.sql("user_id").replace("%", "%%")
            + ")) FROM distribution_heldoutmember "
            "WHERE request_id = %s",
            [distribution.pk],
        )
        assert cursor.fetchone()[0] == 0  # every held-out member meets the rule (PostgreSQL computes it too)
        cursor.execute(
            "SELECT count(*) FROM distribution_issuedcoupon WHERE coupon_id = %s AND ("
            + rule.sql("user_id").replace("%", "%%")
            + ")",
            [distribution.coupon_id],
        )
        assert cursor.fetchone()[0] == 0  # and none of them holds the coupon


def submit(coupon):
    return services.distribution_submit(
        actor=by(),
        distribution=DistributionRequest(
            coupon=coupon, source="warehouse", table="tpch.sf1.customer", column="custkey", memo="crash test"
        ),
    )


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_run_with_a_control_group_resumes_exactly_after_the_worker_is_killed_at(point, postgres, env, tmp_path):
    coupon = Coupon.objects.create(
        name="Held out",
        code=f"HOLDCRASH{KILL_POINTS.index(point)}",
        discount_kind="percent",
        discount_amount=5,
        valid_days=7,
        holdout_percent=Decimal("10"),
    )
    distribution = submit(coupon)
    env = {**env, "DISTRIBUTION_CHUNK_SIZE": "20000"}
    with qcluster({**env, "COUPONOPS_FAILPOINT": point}, tmp_path / "killed.log") as doomed:
        doomed.wait(120)
    distribution.refresh_from_db()
    assert distribution.status == Status.RUNNING, (tmp_path / "killed.log").read_text()[-3000:]

    time.sleep(2.2)  # its heartbeat goes stale
    with qcluster(env, tmp_path / "restarted.log"):
        services.distribution_queue_kick()
        wait_for(
            lambda: DistributionRequest.objects.get(pk=distribution.pk).is_finished, what="the resumed run", timeout=600
        )
    assert_exact(distribution)
