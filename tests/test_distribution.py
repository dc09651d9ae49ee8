"""The service layer on real parts: a queued distribution read from Trino or DuckDB and written to the database."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from distribution import services
from distribution.models import DistributionRequest, IssuedCoupon
from distribution.signals import distribution_failed, distribution_started, distribution_succeeded
from distribution.sources import get_source
from distribution.writers import get_writer
from tests.helpers import by

Status = DistributionRequest.Status


def submit(coupon, source, table, column="user_id", user=None):
    distribution = DistributionRequest(coupon=coupon, source=source, table=table, column=column, memo="test campaign")
    return services.distribution_submit(distribution=distribution, actor=by(user))


@pytest.fixture
def run_queue_and_reload(django_capture_on_commit_callbacks):
    """Runs the worker's service in this process; signals sent on commit are delivered."""

    def run(*distributions):
        with django_capture_on_commit_callbacks(execute=True):
            services.distribution_run_queue()
        for distribution in distributions:
            distribution.refresh_from_db()

    return run


@pytest.fixture
def events():
    received = []
    handlers = {
        signal: (lambda sender, distribution, name=name, **kw: received.append((name, distribution.pk)))
        for name, signal in [
            ("started", distribution_started),
            ("succeeded", distribution_succeeded),
            ("failed", distribution_failed),
        ]
        for signal in [signal]
    }
    for signal, handler in handlers.items():
        signal.connect(handler)
    yield received
    for signal, handler in handlers.items():
        signal.disconnect(handler)


@pytest.mark.integration
class TestFromTrino:
    def test_it_issues_one_coupon_per_tpch_customer(self, run_queue_and_reload, postgres, warehouse, coupon, settings):
        settings.DISTRIBUTION_CHUNK_SIZE = 40_000
        distribution = submit(coupon, "warehouse", "tpch.sf1.customer", "custkey")
        assert distribution.target_count == 150_000
        run_queue_and_reload(distribution)
        assert (
            distribution.status,
            distribution.read_count,
            distribution.issued_count,
            distribution.skipped_count,
        ) == (Status.SUCCEEDED, 150_000, 150_000, 0)
        assert IssuedCoupon.objects.filter(coupon=coupon).count() == 150_000
        assert (
            distribution.checkpoint == 150_000 and distribution.rows_per_second > 0 and distribution.elapsed_seconds > 0
        )

        # Everyone holds it now: a second request would issue nothing, so it is refused before it is saved.
        with pytest.raises(ValidationError, match="already holds this coupon"):
            submit(coupon, "warehouse", "tpch.sf1.customer", "custkey")
        assert DistributionRequest.objects.filter(coupon=coupon).count() == 1
        assert IssuedCoupon.objects.filter(coupon=coupon).count() == 150_000

    def test_a_vanished_table_fails_with_the_reason_and_a_retry_resumes_exactly(
        self, run_queue_and_reload, postgres, warehouse, memory_table, coupon, events
    ):
        table = memory_table("SELECT CAST(x AS BIGINT) AS user_id FROM UNNEST(sequence(1, 500)) t(x)")
        distribution = submit(coupon, "warehouse", table)
        warehouse.execute(f"DROP TABLE {table}")
        run_queue_and_reload(distribution)
        assert distribution.status == Status.FAILED
        assert "does not exist" in distribution.error_message
        assert events == [("started", distribution.pk), ("failed", distribution.pk)]

        warehouse.execute(
            f"CREATE TABLE {table} AS SELECT CAST(x AS BIGINT) AS user_id FROM UNNEST(sequence(1, 500)) t(x)"
        )
        assert services.distribution_retry(actor=by(), distribution=distribution)
        run_queue_and_reload(distribution)
        assert (distribution.status, distribution.issued_count, distribution.error_message, distribution.attempts) == (
            Status.SUCCEEDED,
            500,
            "",
            2,
        )

    def test_a_wrong_column_is_refused_and_nothing_is_queued(self, postgres, memory_table, coupon):
        table = memory_table("SELECT BIGINT '1' AS user_id")
        with pytest.raises(ValidationError) as error:
            submit(coupon, "warehouse", table, column="member")
        assert "column" in error.value.message_dict
        assert not DistributionRequest.objects.exists()


class TestQueue:
    @pytest.fixture
    def members(self, duckdb_source):
        duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 1001) t(i)")
        return "warehouse.main.members"

    def test_requests_run_first_in_first_out_with_exact_counts(
        self, run_queue_and_reload, db, coupon, members, events, settings
    ):
        settings.DISTRIBUTION_CHUNK_SIZE = 300
        first, second = submit(coupon, "demo", members), submit(coupon, "demo", members)
        run_queue_and_reload(first, second)
        assert events == [
            ("started", first.pk),
            ("succeeded", first.pk),
            ("started", second.pk),
            ("succeeded", second.pk),
        ]
        assert (first.issued_count, first.skipped_count) == (1000, 0)
        assert (second.issued_count, second.skipped_count) == (0, 1000)
        assert first.finished_at <= second.started_at
        assert not IssuedCoupon.objects.values("coupon", "user_id").annotate(n=Count("*")).filter(n__gt=1).exists()

    def test_a_second_request_cannot_run_while_one_is_running(self, db, coupon, members):
        first, second = submit(coupon, "demo", members), submit(coupon, "demo", members)
        assert services.distribution_claim_next().pk == first.pk
        assert services.distribution_claim_next() is None
        with pytest.raises(IntegrityError), transaction.atomic():
            DistributionRequest.objects.filter(pk=second.pk).update(status=Status.RUNNING)

    def test_it_resumes_after_the_checkpoint_of_an_interrupted_run(
        self, run_queue_and_reload, db, coupon, members, settings
    ):
        settings.DISTRIBUTION_CHUNK_SIZE = 400
        distribution = submit(coupon, "demo", members)
        claimed = services.distribution_claim_next()
        batches = get_source("demo").read(get_source("demo").resolve(members, "user_id"), after=None, batch_size=400)
        services.distribution_issue_chunk(
            distribution=claimed, writer=get_writer(), user_ids=next(batches), elapsed=0
        )  # one chunk, then the worker "dies"
        batches.close()
        DistributionRequest.objects.filter(pk=distribution.pk).update(status=Status.QUEUED)
        run_queue_and_reload(distribution)
        assert (
            distribution.status,
            distribution.read_count,
            distribution.issued_count,
            distribution.skipped_count,
        ) == (Status.SUCCEEDED, 1000, 1000, 0)
        assert IssuedCoupon.objects.filter(coupon=coupon).count() == 1000

    def test_a_run_that_lost_its_claim_writes_nothing_more(self, db, coupon, members):
        submit(coupon, "demo", members)
        claimed = services.distribution_claim_next()
        DistributionRequest.objects.filter(pk=claimed.pk).update(status=Status.QUEUED)  # taken over
        with pytest.raises(services.ClaimLost):
            services.distribution_issue_chunk(distribution=claimed, writer=get_writer(), user_ids=[1, 2, 3], elapsed=0)
        assert not IssuedCoupon.objects.exists()

    def test_a_running_request_without_heartbeat_is_queued_again(self, db, coupon, members, settings):

        distribution = submit(coupon, "demo", members)
        services.distribution_claim_next()
        services.distribution_requeue_stale(
            now=timezone.now() + timedelta(seconds=settings.DISTRIBUTION_STALE_AFTER + 1)
        )
        distribution.refresh_from_db()
        assert distribution.status == Status.QUEUED

    def test_an_inactive_coupon_is_refused(self, db, coupon, members):
        coupon.is_active = False
        coupon.save()
        with pytest.raises(ValidationError) as error:
            submit(coupon, "demo", members)
        assert "coupon" in error.value.message_dict


class TestCancel:
    @pytest.fixture
    def members(self, duckdb_source):
        duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 1001) t(i)")
        return "warehouse.main.members"

    def test_a_cancelled_queued_request_never_runs(self, run_queue_and_reload, db, coupon, members, staff_user, events):
        distribution = submit(coupon, "demo", members)
        assert services.distribution_cancel(distribution=distribution, actor=by(staff_user))
        run_queue_and_reload(distribution)
        assert (distribution.status, distribution.cancelled_by, distribution.issued_count) == (
            Status.CANCELLED,
            staff_user,
            0,
        )
        assert not IssuedCoupon.objects.exists()

    def test_a_running_request_stops_within_one_chunk_and_keeps_exact_counts(self, db, coupon, members, settings):
        distribution = submit(coupon, "demo", members)
        claimed = services.distribution_claim_next()
        source = get_source("demo")
        batches = source.read(source.resolve(members, "user_id"), after=None, batch_size=400)
        writer = get_writer()
        services.distribution_issue_chunk(distribution=claimed, writer=writer, user_ids=next(batches), elapsed=0)
        assert services.distribution_cancel(actor=by(), distribution=distribution)
        with pytest.raises(services.ClaimLost):
            services.distribution_issue_chunk(
                distribution=claimed, writer=writer, user_ids=next(batches), elapsed=0
            )  # the chunk in flight rolls back
        batches.close()
        distribution.refresh_from_db()
        assert (distribution.status, distribution.read_count, distribution.issued_count) == (Status.CANCELLED, 400, 400)
        assert IssuedCoupon.objects.filter(distribution=distribution).count() == 400

    def test_a_finished_request_cannot_be_cancelled(self, run_queue_and_reload, db, coupon, members):
        distribution = submit(coupon, "demo", members)
        run_queue_and_reload(distribution)
        assert not services.distribution_cancel(actor=by(), distribution=distribution)


class TestBudget:
    @pytest.fixture
    def members(self, duckdb_source):
        duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 101) t(i)")
        duckdb_source("CREATE TABLE more AS SELECT i AS user_id FROM range(101, 201) t(i)")
        return "warehouse.main.members"

    def test_an_audience_larger_than_the_budget_is_refused(self, db, coupon, members):
        coupon.budget = 99
        coupon.save()
        with pytest.raises(ValidationError) as error:
            submit(coupon, "demo", members)
        assert "99 coupons left in its budget" in error.value.message_dict["coupon"][0]

    def test_the_worker_stops_before_the_budget_is_exceeded(self, run_queue_and_reload, db, coupon, members, settings):
        settings.DISTRIBUTION_CHUNK_SIZE = 30
        coupon.budget = 150
        coupon.save()
        first = submit(coupon, "demo", members)
        second = submit(coupon, "demo", "warehouse.main.more")  # each fits alone, not both
        run_queue_and_reload(first, second)
        assert (first.status, first.issued_count) == (Status.SUCCEEDED, 100)
        assert second.status == Status.FAILED and "budget is reached" in second.error_message
        assert second.issued_count == 30  # whole chunks only: 30 more would make 160
        assert IssuedCoupon.objects.filter(coupon=coupon).count() == 130 <= coupon.budget


def test_a_scheduled_request_waits_for_its_time_while_others_run(db, coupon, duckdb_source):

    duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 11) t(i)")
    later = DistributionRequest(
        coupon=coupon,
        source="demo",
        table="warehouse.main.members",
        column="user_id",
        memo="later",
        not_before=timezone.now() + timedelta(hours=1),
    )
    services.distribution_submit(actor=by(), distribution=later)
    now_one = submit(coupon, "demo", "warehouse.main.members")
    services.distribution_run_queue()
    later.refresh_from_db()
    now_one.refresh_from_db()
    assert (later.status, now_one.status) == (Status.QUEUED, Status.SUCCEEDED)
    assert DistributionRequest.objects.next_in_line(now=timezone.now() + timedelta(hours=2)) == later


def test_a_coupon_deactivated_after_queueing_fails_the_request_cleanly(run_queue_and_reload, db, coupon, duckdb_source):
    duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 11) t(i)")
    distribution = submit(coupon, "demo", "warehouse.main.members")
    coupon.is_active = False
    coupon.save()
    run_queue_and_reload(distribution)
    assert distribution.status == Status.FAILED and "deactivated" in distribution.error_message
    assert not IssuedCoupon.objects.exists()
