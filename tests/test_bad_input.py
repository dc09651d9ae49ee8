"""Bad audiences on a real Trino: each ends in a clear error or an exact count of what was skipped.

(Names carrying SQL, quotes, dots, spaces, upper case or Korean letters are in test_security.py; a
missing catalog or schema in test_sources.py; overlapping audiences and a double confirm in
test_preview.py; a budget smaller than the audience in test_distribution.py.)
"""

import pytest
from django.core.exceptions import ValidationError
from django.db.models.deletion import ProtectedError

from distribution import services
from distribution.models import DistributionRequest, IssuedCoupon
from tests.helpers import by

Status = DistributionRequest.Status
pytestmark = pytest.mark.integration


def draft(coupon, table):
    return services.distribution_draft(
        actor=by(),
        distribution=DistributionRequest(
            coupon=coupon, source="warehouse", table=table, column="user_id", memo="bad input"
        ),
    )


def run(distribution):
    services.distribution_confirm(actor=by(), distribution=distribution)
    services.distribution_run_queue()
    distribution.refresh_from_db()
    return distribution


@pytest.mark.parametrize(
    "values, kind",
    [
        ("VALUES '1', '2'", "text"),  # numeric strings
        ("VALUES 'abc', 'x1'", "text"),  # non-numeric strings
        ("VALUES ' 1', '2 '", "text"),  # whitespace around digits
        ("VALUES CAST('9223372036854775808' AS DECIMAL(20, 0))", "decimal numbers"),  # above the bigint range
        ("VALUES DOUBLE '1.5'", "decimal numbers"),
    ],
)
def test_a_column_that_is_not_an_integer_is_a_clear_error_naming_its_kind_in_words(
    postgres, memory_table, coupon, values, kind
):
    table = memory_table(f"SELECT * FROM ({values}) t(user_id)")
    with pytest.raises(ValidationError) as error:
        draft(coupon, table)
    message = error.value.message_dict["column"][0]
    assert f"holds {kind}, not whole numbers; member ids must be whole numbers." in message
    assert not DistributionRequest.objects.exists()


@pytest.mark.parametrize(
    "select",
    [
        "SELECT BIGINT '1' AS user_id WHERE false",  # no rows at all
        "SELECT CAST(NULL AS BIGINT) AS user_id",  # only nulls
        "SELECT * FROM (VALUES BIGINT '0', -1, -9223372036854775807) t(user_id)",  # only zero and negatives
    ],
)
def test_a_table_without_a_valid_id_is_a_clear_error(postgres, memory_table, coupon, select):
    with pytest.raises(ValidationError) as error:
        draft(coupon, memory_table(select))
    assert "has no valid user ids" in error.value.message_dict["table"][0]
    assert not DistributionRequest.objects.exists()


def test_the_largest_bigint_and_a_one_row_table_issue_exactly(postgres, memory_table, coupon):
    distribution = run(draft(coupon, memory_table("SELECT BIGINT '9223372036854775807' AS user_id")))
    assert (distribution.status, distribution.target_count, distribution.issued_count) == (Status.SUCCEEDED, 1, 1)
    assert list(IssuedCoupon.objects.values_list("user_id", flat=True)) == [9223372036854775807]


def test_small_integer_types_are_accepted(postgres, memory_table, coupon):
    table = memory_table("SELECT * FROM (VALUES SMALLINT '3', SMALLINT '1', NULL) t(user_id)")
    distribution = run(draft(coupon, table))
    assert (distribution.status, distribution.issued_count, distribution.invalid_count) == (Status.SUCCEEDED, 2, 1)


def test_every_row_is_accounted_for(postgres, memory_table, coupon):
    """Rows = issued + already held + duplicate rows + invalid rows, whatever the mix."""
    services.distribution_submit(
        actor=by(),
        distribution=DistributionRequest(
            coupon=coupon,
            source="warehouse",
            table=memory_table("SELECT BIGINT '2' AS user_id"),
            column="user_id",
            memo="earlier",
        ),
    )
    services.distribution_run_queue()
    table = memory_table("SELECT * FROM (VALUES BIGINT '1', 1, 1, 2, 3, NULL, 0, -4) t(user_id)")
    distribution = run(draft(coupon, table))
    assert (
        distribution.issued_count,
        distribution.skipped_count,
        distribution.duplicate_count,
        distribution.invalid_count,
    ) == (2, 1, 2, 3)
    assert (
        sum(
            (
                distribution.issued_count,
                distribution.skipped_count,
                distribution.duplicate_count,
                distribution.invalid_count,
            )
        )
        == 8
    )


def test_a_coupon_with_requests_cannot_be_deleted(postgres, memory_table, coupon):
    distribution = run(draft(coupon, memory_table("SELECT BIGINT '1' AS user_id")))
    with pytest.raises(ProtectedError):
        coupon.delete()
    assert IssuedCoupon.objects.filter(distribution_id=distribution.pk).count() == 1


def test_a_table_the_warehouse_user_may_not_read_is_a_clear_error(postgres, warehouse, coupon, settings):
    settings.COUPONOPS_SOURCES["warehouse"] = {**settings.COUPONOPS_SOURCES["warehouse"], "user": "outsider"}
    with pytest.raises(ValidationError) as error:
        services.distribution_draft(
            actor=by(),
            distribution=DistributionRequest(
                coupon=coupon, source="warehouse", table="tpch.sf1.customer", column="custkey", memo="denied"
            ),
        )
    message = " ".join(error.value.messages)
    assert "Trino refused access" in message and "Cannot select from" in message
    assert not DistributionRequest.objects.exists()
