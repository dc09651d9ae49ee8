"""Revoke, then distribute again: a revoked, never used coupon comes back to life for the later request; a used
one is never touched; counts, history, export and Slack show re-issued apart from issued and skipped."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from distribution import services
from distribution.models import DistributionRequest, IssuedCoupon
from distribution.resources import DistributionRequestResource
from distribution.signals import Event
from distribution.writers import Chunk, get_writer
from notifications.messages import render
from tests.helpers import by

Status = DistributionRequest.Status


def submit(coupon, table, user=None):
    return services.distribution_submit(
        actor=by(user),
        distribution=DistributionRequest(
            coupon=coupon, source="demo", table=f"warehouse.main.{table}", column="user_id", memo="re-issue test"
        ),
    )


def revoked_request(coupon, *, used_up_to=5):
    """Members 1–50 got the coupon, 1–`used_up_to` used it, then the request was revoked (45 revoked)."""
    first = submit(coupon, "first")
    services.distribution_run_queue()
    IssuedCoupon.objects.filter(coupon=coupon, user_id__lte=used_up_to).update(used_at=timezone.now())
    services.distribution_revoke(distribution=first, actor=by())
    services.distribution_run_queue()
    first.refresh_from_db()
    assert (first.status, first.revoked_count) == (Status.REVOKED, 50 - used_up_to)
    return first


@pytest.fixture
def tables(duckdb_source):
    duckdb_source("CREATE TABLE first AS SELECT i AS user_id FROM range(1, 51) t(i)")
    duckdb_source("CREATE TABLE corrected AS SELECT i AS user_id FROM range(1, 61) t(i)")


def test_a_corrected_distribution_gives_revoked_members_their_coupon_again(db, coupon, tables, settings):
    settings.DISTRIBUTION_CHUNK_SIZE = 7
    first = revoked_request(coupon)
    second = submit(coupon, "corrected")
    assert (second.target_count, second.held_count, second.preview_reissue_count, second.would_issue) == (60, 5, 45, 55)
    services.distribution_run_queue()
    second.refresh_from_db()
    assert (second.status, second.read_count, second.issued_count, second.reissued_count, second.skipped_count) == (
        Status.SUCCEEDED,
        60,
        10,
        45,
        5,
    )
    rows = IssuedCoupon.objects.filter(coupon=coupon)
    assert rows.count() == 60 and not rows.filter(deleted_at__isnull=False).exists()
    assert set(rows.filter(used_at__isnull=False).values_list("distribution_id", flat=True)) == {first.pk}
    revived = rows.filter(user_id__range=(6, 50))
    assert set(revived.values_list("distribution_id", flat=True)) == {second.pk}
    assert revived.filter(issued_at__gt=first.finished_at).count() == 45
    assert second.transitions.get(action="succeeded").counts["reissued_count"] == 45


def test_running_it_again_reissues_nothing_more(db, coupon, tables):
    revoked_request(coupon)
    submit(coupon, "corrected")
    services.distribution_run_queue()
    # Everyone holds it again: a third request would issue nothing, and is refused before it is saved.
    with pytest.raises(ValidationError, match="already holds this coupon"):
        submit(coupon, "corrected")
    assert coupon.distributions.count() == 2


def test_a_reissue_spends_budget_like_a_new_coupon(db, coupon, tables):
    revoked_request(coupon)
    coupon.budget = 100  # 50 given; 55 more would be 105
    coupon.save()
    with pytest.raises(ValidationError) as error:
        submit(coupon, "corrected")
    assert "50 coupons left in its budget, and this request would issue 55" in error.value.message_dict["coupon"][0]
    coupon.budget = 105
    coupon.save()
    second = submit(coupon, "corrected")
    services.distribution_run_queue()
    assert coupon.issued_so_far() == 105 and coupon.budget_left() == 0
    second.refresh_from_db()
    assert second.status == Status.SUCCEEDED


def test_the_writer_stops_at_the_budget_counting_reissues(db, coupon, tables, settings):
    settings.DISTRIBUTION_CHUNK_SIZE = 20
    revoked_request(coupon)
    second = submit(coupon, "corrected")
    coupon.budget = 90  # lowered after the preview: 40 left
    coupon.save()
    services.distribution_run_queue()
    second.refresh_from_db()
    assert second.status == Status.FAILED and "budget is reached" in second.error_message
    # Chunks 1–20 (15 re-issued) and 21–40 (20): 35; the third chunk (10 + 10) would pass 40.
    assert (second.issued_count, second.reissued_count) == (0, 35)
    assert coupon.issued_so_far() == 85 <= coupon.budget


def test_history_export_and_slack_show_reissued_apart(db, coupon, tables):
    revoked_request(coupon)
    second = submit(coupon, "corrected")
    services.distribution_run_queue()
    second.refresh_from_db()
    dataset = DistributionRequestResource().export(DistributionRequest.objects.filter(pk=second.pk))
    row = dict(zip(dataset.headers, dataset[0], strict=False))
    assert (row["Issued"], row["Re-issued"], row["Skipped (already held)"]) == (10, 45, 5)
    text = render(Event.SUCCEEDED, second)["text"]
    assert "Read / issued / re-issued / skipped: 60 / 10 / 45 / 5" in text


def chunk(distribution, user_ids, now):
    return Chunk(distribution.coupon_id, distribution.pk, user_ids, now, now + timedelta(days=3))


@pytest.mark.integration
def test_both_writers_reissue_the_same_rows_and_never_touch_a_used_one(postgres, coupon):
    earlier = DistributionRequest.objects.create(coupon=coupon, source="demo", table="a.b.c", column="id", memo="m")
    later = DistributionRequest.objects.create(coupon=coupon, source="demo", table="a.b.c", column="id", memo="m")
    then, now = timezone.now() - timedelta(days=1), timezone.now().replace(microsecond=0)
    results = {}
    for name in ("bulk_create", "copy"):
        IssuedCoupon.objects.filter(coupon=coupon).delete()  # test clean-up, not product code
        writer = get_writer(name)
        writer.write(chunk(earlier, list(range(1, 30_001)), then))
        IssuedCoupon.objects.filter(coupon=coupon, user_id__range=(5_001, 10_000)).update(used_at=then)
        IssuedCoupon.objects.filter(coupon=coupon, user_id__lte=5_000).update(deleted_at=then)  # revoked unused
        written = writer.write(chunk(later, list(range(2, 40_001, 2)), now))  # even ids up to 40,000
        rows = IssuedCoupon.objects.filter(coupon=coupon)
        results[name] = (
            written.issued,
            written.reissued,
            sorted(rows.filter(distribution=later).values_list("user_id", "issued_at", "expires_at", "deleted_at")),
            rows.filter(deleted_at__isnull=False).count(),
        )
    assert results["bulk_create"] == results["copy"]
    issued, reissued, later_rows, still_revoked = results["copy"]
    assert (issued, reissued) == (5_000, 2_500)  # 30,002–40,000 new; 2–5,000 revived; 5,002–10,000 used: kept
    assert later_rows[0] == (2, now, now + timedelta(days=3), None) and len(later_rows) == 7_500
    assert still_revoked == 2_500  # the odd ids were not in the later audience: they stay revoked


@pytest.mark.integration
@pytest.mark.parametrize("name", ["copy", "bulk_create"])
def test_sparse_ids_into_a_crowded_coupon_are_probed_one_by_one_with_the_same_result(postgres, coupon, name):
    """Four ids spread over a coupon whose key range holds 10,000 rows: each id is looked up by itself
    (the range would be read in full otherwise), and the answer is the same as a range scan's."""
    earlier = DistributionRequest.objects.create(coupon=coupon, source="demo", table="a.b.c", column="id", memo="m")
    later = DistributionRequest.objects.create(coupon=coupon, source="demo", table="a.b.c", column="id", memo="m")
    then, now = timezone.now() - timedelta(days=1), timezone.now().replace(microsecond=0)
    writer = get_writer(name)
    writer.write(chunk(earlier, list(range(1, 10_001)), then))
    IssuedCoupon.objects.filter(coupon=coupon, user_id__in=[3_000, 3_001]).update(used_at=then)
    IssuedCoupon.objects.filter(coupon=coupon, user_id__range=(5_000, 6_000)).update(deleted_at=then)
    written = writer.write(chunk(later, [17, 3_000, 5_500, 20_000], now))
    assert (written.issued, written.reissued) == (1, 1)  # 20,000 new; 5,500 revived; 17 held; 3,000 used: kept
    rows = IssuedCoupon.objects.filter(coupon=coupon)
    assert sorted(rows.filter(distribution=later).values_list("user_id", flat=True)) == [5_500, 20_000]
    assert rows.filter(deleted_at__isnull=False).count() == 1_000  # the range's other revoked rows stay revoked
    assert rows.get(user_id=3_000).distribution == earlier
