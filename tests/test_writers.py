from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from distribution.models import DistributionRequest, IssuedCoupon
from distribution.writers import Chunk, get_writer


def make_request(coupon):
    return DistributionRequest.objects.create(coupon=coupon, source="demo", table="a.b.c", column="id", memo="test")


def chunk_for(distribution, user_ids):
    now = timezone.now().replace(microsecond=0)
    return Chunk(distribution.coupon_id, distribution.pk, user_ids, now, now + timedelta(days=14))


def table_rows(coupon):
    return list(
        IssuedCoupon.objects.filter(coupon=coupon)
        .order_by("user_id")
        .values_list("user_id", "distribution_id", "issued_at", "expires_at", "deleted_at")
    )


def test_auto_picks_copy_on_postgresql_and_bulk_create_elsewhere(db):
    expected = "copy" if connection.vendor == "postgresql" else "bulk_create"
    assert get_writer("auto").name == expected


@pytest.mark.django_db
def test_bulk_create_skips_members_who_already_hold_the_coupon(coupon):
    distribution = make_request(coupon)
    writer = get_writer("bulk_create")
    assert writer.write(chunk_for(distribution, [1, 2, 3])).issued == 3
    assert writer.write(chunk_for(distribution, [2, 3, 4, 5])).issued == 2
    assert [row[0] for row in table_rows(coupon)] == [1, 2, 3, 4, 5]


@pytest.mark.integration
def test_both_writers_produce_identical_rows_and_counts(postgres, coupon):
    first, second = make_request(coupon), make_request(coupon)
    ids = list(range(1, 20_001, 2))  # odd ids
    overlap = list(range(10_000, 30_000))  # half already held after the first chunk
    results = {}
    for name in ("bulk_create", "copy"):
        IssuedCoupon.objects.filter(coupon=coupon).delete()  # test clean-up, not product code
        writer = get_writer(name)
        issued = [writer.write(chunk_for(first, ids)).issued, writer.write(chunk_for(second, overlap)).issued]
        results[name] = (issued, [row[:2] + row[4:] for row in table_rows(coupon)])
    assert results["bulk_create"] == results["copy"]
    assert results["copy"][0] == [10_000, 15_000]


@pytest.mark.integration
def test_copy_writes_every_column_like_bulk_create(postgres, coupon):
    distribution = make_request(coupon)
    chunk = chunk_for(distribution, [7, 8])
    get_writer("copy").write(chunk)
    assert table_rows(coupon) == [
        (7, distribution.pk, chunk.issued_at, chunk.expires_at, None),
        (8, distribution.pk, chunk.issued_at, chunk.expires_at, None),
    ]


@pytest.mark.integration
@pytest.mark.parametrize("name", ["copy", "bulk_create"])
def test_a_coupon_api_chunk_records_its_call_instead_of_a_request(postgres, coupon, name):
    from api.models import IssueCall
    from tests.api_helpers import api_key

    call = IssueCall.objects.create(client=api_key()[0], coupon=coupon, idempotency_key="k", at=timezone.now())
    now = timezone.now().replace(microsecond=0)
    assert get_writer(name).write(Chunk(coupon.pk, None, [3, 9], now, now, issue_call_id=call.pk)).issued == 2
    rows = IssuedCoupon.objects.filter(coupon=coupon).order_by("user_id")
    assert [(r.user_id, r.distribution_id, r.issue_call_id, r.order_id, r.redeemed_by_id) for r in rows] == [
        (3, None, call.pk, None, None),
        (9, None, call.pk, None, None),
    ]
