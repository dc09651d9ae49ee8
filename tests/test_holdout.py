"""Control groups on real parts: one rule in Python and in SQL (Trino, DuckDB), runs, previews and API calls."""

import json
from decimal import Decimal

import duckdb
import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from distribution import services
from distribution.holdout import Holdout, coupon_holdout, new_salt
from distribution.models import Coupon, DistributionRequest, HeldOutMember, IssuedCoupon
from tests import test_distribution
from tests.api_helpers import api_key, bearer
from tests.helpers import by

Status = DistributionRequest.Status
run_queue_and_reload = test_distribution.run_queue_and_reload  # the fixture, shared
# Ids the rule must treat alike everywhere: small ones, a spread, and the largest a bigint holds.
EDGE_IDS = [1, 2, 3, 2**31 - 2, 2**31 - 1, 2**31, 2**32 + 7, 2**62, 2**63 - 2, 2**63 - 1]


def trino_range(last):
    """SELECT of the ids 1..last (a multiple of 10,000) as `user_id`: Trino's sequence() stops at 10,000."""
    return (
        "SELECT CAST(a * 10000 + b + 1 AS BIGINT) AS user_id "
        f"FROM UNNEST(sequence(0, {last // 10_000 - 1})) t(a) CROSS JOIN UNNEST(sequence(0, 9999)) u(b)"
    )


def holdout_coupon(code="HOLD10", percent="10"):
    return Coupon.objects.create(
        name="Held out",
        code=code,
        discount_kind="percent",
        discount_amount=10,
        valid_days=14,
        holdout_percent=Decimal(percent),
    )


def submit(coupon, source, table, column="user_id"):
    distribution = DistributionRequest(coupon=coupon, source=source, table=table, column=column, memo="holdout test")
    return services.distribution_submit(distribution=distribution, actor=by())


def rules():
    return [Holdout(salt, bp) for salt, bp in [(2, 1000), (new_salt(), 1000), (new_salt(), 250), (2**31 - 2, 5000)]]


# --- the rule ------------------------------------------------------------------------------------


@pytest.mark.integration
def test_trino_computes_the_rule_exactly_as_python_does(warehouse):
    ids_sql = (
        f"SELECT user_id AS id FROM ({trino_range(200_000)}) UNION ALL "
        f"SELECT user_id * 104729 FROM ({trino_range(100_000)}) UNION ALL "
        f"SELECT id FROM UNNEST(ARRAY[{', '.join(f'CAST({i} AS BIGINT)' for i in EDGE_IDS)}]) AS t(id)"
    )
    ids = sorted(set(range(1, 200_001)) | {x * 104729 for x in range(1, 100_001)} | set(EDGE_IDS))
    for rule in rules():
        held = warehouse.execute(f"SELECT DISTINCT id FROM ({ids_sql}) WHERE {rule.sql('id')} ORDER BY id")
        assert [row[0] for row in held] == [i for i in ids if rule.holds_out(i)]


def test_duckdb_computes_the_rule_exactly_as_python_does():
    ids = sorted(set(range(1, 200_001)) | {x * 104729 for x in range(1, 100_001)} | set(EDGE_IDS))
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t AS SELECT unnest(?::BIGINT[]) AS id", [ids])
        for rule in rules():
            held = [row[0] for row in con.execute(f"SELECT id FROM t WHERE {rule.sql('id')} ORDER BY id").fetchall()]
            assert held == [i for i in ids if rule.holds_out(i)]


@pytest.mark.parametrize("basis_points", [100, 1000, 2500, 5000])
def test_the_control_group_is_within_one_point_of_the_percentage_on_100000_members(basis_points):
    for _ in range(5):
        rule = Holdout(new_salt(), basis_points)
        for ids in (list(range(1, 100_001)), list(range(3, 300_001, 3)), list(range(10**12, 10**12 + 100_000))):
            share = len(rule.split(ids)[1]) / len(ids)
            assert abs(share - basis_points / 10_000) <= 0.01


def test_two_coupons_hold_out_overlapping_groups_as_independent_draws_would():
    ids = list(range(1, 100_001))
    first, second = (set(Holdout(new_salt(), 1000).split(ids)[1]) for _ in range(2))
    # Independent 10 % draws share 1 % of the members (1,000 of 100,000), give or take sampling noise.
    assert 700 < len(first & second) < 1300


def test_split_keeps_the_order_and_loses_no_one():
    rule, ids = Holdout(new_salt(), 3000), list(range(1, 50_001))
    kept, held = rule.split(ids)
    assert sorted(kept + held) == ids and kept == sorted(kept) and held == sorted(held)
    assert all(rule.holds_out(i) for i in held) and not any(rule.holds_out(i) for i in kept)


# --- the coupon ----------------------------------------------------------------------------------


def test_each_coupon_draws_its_own_salt(db):
    assert holdout_coupon("A").holdout_salt != holdout_coupon("B").holdout_salt


def test_a_coupon_without_a_control_group_holds_no_one_out(db, coupon):
    assert coupon_holdout(coupon) is None


def test_the_percentage_cannot_change_once_the_coupon_has_issued(db):
    coupon = holdout_coupon()
    coupon.holdout_percent = Decimal("20")
    coupon.full_clean()  # nothing issued yet: a change is fine
    coupon.save()
    IssuedCoupon.objects.create(
        coupon=coupon, user_id=1, issued_at=coupon.created_at, expires_at=coupon.expiry_for(coupon.created_at)
    )
    DistributionRequest.objects.create(coupon=coupon, source="demo", table="t", column="c", memo="m", issued_count=1)
    coupon.holdout_percent = Decimal("5")
    with pytest.raises(ValidationError) as refused:
        coupon.full_clean()
    assert "holdout_percent" in refused.value.message_dict
    coupon.holdout_percent, coupon.name = Decimal("20"), "Renamed"
    coupon.full_clean()  # other fields still change


def test_the_percentage_is_at_most_fifty(db):
    coupon = holdout_coupon(percent="50.01")
    with pytest.raises(ValidationError) as refused:
        coupon.full_clean()
    assert "holdout_percent" in refused.value.message_dict


# --- runs, previews, API calls -----------------------------------------------------------------


def expected_held(coupon, ids):
    return [i for i in ids if coupon_holdout(coupon).holds_out(i)]


@pytest.mark.integration
def test_a_run_never_issues_the_control_group_and_records_it_exactly(
    run_queue_and_reload, postgres, warehouse, settings
):
    settings.DISTRIBUTION_CHUNK_SIZE = 40_000
    coupon = holdout_coupon()
    held = expected_held(coupon, range(1, 150_001))
    distribution = submit(coupon, "warehouse", "tpch.sf1.customer", "custkey")
    assert distribution.holdout_count == len(held)  # the preview counted it in Trino
    assert distribution.would_issue == 150_000 - len(held)
    run_queue_and_reload(distribution)

    assert (distribution.status, distribution.read_count, distribution.issued_count) == (
        Status.SUCCEEDED,
        150_000,
        150_000 - len(held),
    )
    assert (distribution.held_out_count, distribution.skipped_count) == (len(held), 0)
    rows = HeldOutMember.objects.filter(distribution=distribution)
    assert sorted(rows.values_list("user_id", flat=True)) == held
    assert not IssuedCoupon.objects.filter(coupon=coupon, user_id__in=held).exists()
    assert coupon.issued_so_far() == 150_000 - len(held)  # the budget counts only what was issued


@pytest.mark.integration
def test_the_same_members_are_held_out_by_every_request_and_api_call(
    run_queue_and_reload, postgres, warehouse, memory_table
):
    coupon = holdout_coupon()
    first = submit(coupon, "warehouse", memory_table(trino_range(30_000)))
    run_queue_and_reload(first)
    second = submit(coupon, "warehouse", memory_table(trino_range(60_000)))
    run_queue_and_reload(second)
    held_first = set(HeldOutMember.objects.filter(distribution=first).values_list("user_id", flat=True))
    held_second = set(HeldOutMember.objects.filter(distribution=second).values_list("user_id", flat=True))
    assert held_first == set(expected_held(coupon, range(1, 30_001)))
    assert held_second == set(expected_held(coupon, range(1, 60_001))) and held_first < held_second
    assert (second.held_out_count, second.skipped_count) == (len(held_second), 30_000 - len(held_first))

    answer = api_issue(coupon, list(range(59_000, 61_001)))
    assert answer["held_out"] == expected_held(coupon, range(59_000, 61_001))
    assert answer["issued"] == 1000 - len([i for i in answer["held_out"] if i > 60_000])
    assert not IssuedCoupon.objects.filter(coupon=coupon, user_id__in=held_second | set(answer["held_out"])).exists()


def api_issue(coupon, ids, idempotency="holdout-1"):
    key = api_key()[1]
    response = Client().post(
        f"/api/v1/coupons/{coupon.code}/issue",
        json.dumps({"user_ids": ids}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=idempotency,
        **bearer(key),
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_the_preview_counts_the_control_group_in_duckdb_too(db, duckdb_source):
    duckdb_source("CREATE TABLE big AS SELECT i AS user_id FROM range(1, 20001) t(i)")
    coupon = holdout_coupon()
    distribution = DistributionRequest(coupon=coupon, source="demo", table="warehouse.main.big", column="user_id")
    services.distribution_preview(distribution=distribution)
    assert distribution.holdout_count == len(expected_held(coupon, range(1, 20_001)))
    assert distribution.would_issue == 20_000 - distribution.holdout_count


def test_an_api_call_reports_held_out_members_and_issues_the_rest(db):
    coupon = holdout_coupon(percent="50")
    ids = list(range(1, 201))
    answer = api_issue(coupon, ids)
    held = expected_held(coupon, ids)
    assert answer["held_out"] == held and answer["issued"] == 200 - len(held) and answer["already_held"] == 0
    assert set(IssuedCoupon.objects.filter(coupon=coupon).values_list("user_id", flat=True)) == set(ids) - set(held)
    assert coupon.issue_calls.get().held_out_count == len(held)


def test_every_schedule_run_holds_out_the_same_members(run_queue_and_reload, postgres, duckdb_source, staff_user):
    from campaigns import services as schedules
    from tests.test_schedules import make_schedule

    coupon = holdout_coupon()
    duckdb_source("CREATE TABLE daily AS SELECT i AS user_id FROM range(1, 2001) t(i)")
    schedule = make_schedule(coupon, staff_user, "warehouse.main.daily", source="demo", max_coupons=10_000)
    first = schedules.schedule_run_now(schedule=schedule).distribution
    run_queue_and_reload(first)
    duckdb_source("INSERT INTO daily SELECT i FROM range(2001, 4001) t(i)")
    second = schedules.schedule_run_now(schedule=schedule).distribution
    run_queue_and_reload(second)

    for run, last in ((first, 2000), (second, 4000)):
        held = sorted(HeldOutMember.objects.filter(distribution=run).values_list("user_id", flat=True))
        assert run.status == Status.SUCCEEDED and held == expected_held(coupon, range(1, last + 1))
        assert run.held_out_count == run.holdout_count == len(held)
    assert second.issued_count == 2000 - len(expected_held(coupon, range(2001, 4001)))
