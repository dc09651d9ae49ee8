"""The service layer on real parts: a queued request read from Trino or DuckDB and written to the database."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count

from distribution import services
from distribution.models import DistributionRequest, IssuedCoupon
from distribution.signals import distribution_failed, distribution_started, distribution_succeeded

Status = DistributionRequest.Status


def submit(coupon, source, table, column="user_id", user=None):
    request = DistributionRequest(coupon=coupon, source=source, table=table, column=column, memo="test campaign")
    return services.distribution_request_submit(request=request, requested_by=user)


@pytest.fixture
def run_queue_and_reload(django_capture_on_commit_callbacks):
    """Runs the worker's service in this process; signals sent on commit are delivered."""

    def run(*requests):
        with django_capture_on_commit_callbacks(execute=True):
            services.distribution_run_queue()
        for request in requests:
            request.refresh_from_db()

    return run


@pytest.fixture
def events():
    received = []
    handlers = {signal: (lambda sender, request, name=name, **kw: received.append((name, request.pk)))
                for name, signal in [("started", distribution_started), ("succeeded", distribution_succeeded),
                                     ("failed", distribution_failed)] for signal in [signal]}
    for signal, handler in handlers.items():
        signal.connect(handler)
    yield received
    for signal, handler in handlers.items():
        signal.disconnect(handler)


@pytest.mark.integration
class TestFromTrino:
    def test_it_issues_one_coupon_per_tpch_customer(self, run_queue_and_reload, postgres, warehouse, coupon, settings):
        settings.DISTRIBUTION_CHUNK_SIZE = 40_000
        request = submit(coupon, "warehouse", "tpch.sf1.customer", "custkey")
        assert request.target_count == 150_000
        run_queue_and_reload(request)
        assert (request.status, request.read_count, request.issued_count, request.skipped_count) == (
            Status.SUCCEEDED, 150_000, 150_000, 0)
        assert IssuedCoupon.objects.filter(coupon=coupon).count() == 150_000
        assert request.checkpoint == 150_000 and request.rows_per_second > 0 and request.elapsed_seconds > 0

        again = submit(coupon, "warehouse", "tpch.sf1.customer", "custkey")
        run_queue_and_reload(again)
        assert (again.status, again.issued_count, again.skipped_count) == (Status.SUCCEEDED, 0, 150_000)
        assert IssuedCoupon.objects.filter(coupon=coupon).count() == 150_000

    def test_a_vanished_table_fails_with_the_reason_and_a_retry_resumes_exactly(
        self, run_queue_and_reload, postgres, warehouse, memory_table, coupon, events
    ):
        table = memory_table("SELECT CAST(x AS BIGINT) AS user_id FROM UNNEST(sequence(1, 500)) t(x)")
        request = submit(coupon, "warehouse", table)
        warehouse.execute(f"DROP TABLE {table}")
        run_queue_and_reload(request)
        assert request.status == Status.FAILED
        assert "does not exist" in request.error_message
        assert events == [("started", request.pk), ("failed", request.pk)]

        warehouse.execute(f"CREATE TABLE {table} AS SELECT CAST(x AS BIGINT) AS user_id FROM UNNEST(sequence(1, 500)) t(x)")
        assert services.distribution_retry(request=request)
        run_queue_and_reload(request)
        assert (request.status, request.issued_count, request.error_message, request.attempts) == (
            Status.SUCCEEDED, 500, "", 2)

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

    def test_requests_run_first_in_first_out_with_exact_counts(self, run_queue_and_reload, db, coupon, members, events, settings):
        settings.DISTRIBUTION_CHUNK_SIZE = 300
        first, second = submit(coupon, "demo", members), submit(coupon, "demo", members)
        run_queue_and_reload(first, second)
        assert events == [("started", first.pk), ("succeeded", first.pk),
                          ("started", second.pk), ("succeeded", second.pk)]
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

    def test_it_resumes_after_the_checkpoint_of_an_interrupted_run(self, run_queue_and_reload, db, coupon, members, settings):
        settings.DISTRIBUTION_CHUNK_SIZE = 400
        request = submit(coupon, "demo", members)
        claimed = services.distribution_claim_next()
        batches = services.get_source("demo").read(
            services.get_source("demo").resolve(members, "user_id"), after=None, batch_size=400)
        services._issue_chunk(claimed, services.get_writer(), next(batches))  # one chunk, then the worker "dies"
        batches.close()
        DistributionRequest.objects.filter(pk=request.pk).update(status=Status.QUEUED)
        run_queue_and_reload(request)
        assert (request.status, request.read_count, request.issued_count, request.skipped_count) == (
            Status.SUCCEEDED, 1000, 1000, 0)
        assert IssuedCoupon.objects.filter(coupon=coupon).count() == 1000

    def test_a_run_that_lost_its_claim_writes_nothing_more(self, db, coupon, members):
        submit(coupon, "demo", members)
        claimed = services.distribution_claim_next()
        DistributionRequest.objects.filter(pk=claimed.pk).update(status=Status.QUEUED)  # taken over
        with pytest.raises(services.ClaimLost):
            services._issue_chunk(claimed, services.get_writer(), [1, 2, 3])
        assert not IssuedCoupon.objects.exists()

    def test_a_running_request_without_heartbeat_is_queued_again(self, db, coupon, members, settings):
        from datetime import timedelta

        from django.utils import timezone

        request = submit(coupon, "demo", members)
        services.distribution_claim_next()
        services.distribution_requeue_stale(now=timezone.now() + timedelta(seconds=settings.DISTRIBUTION_STALE_AFTER + 1))
        request.refresh_from_db()
        assert request.status == Status.QUEUED

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
        request = submit(coupon, "demo", members)
        assert services.distribution_cancel(request=request, cancelled_by=staff_user)
        run_queue_and_reload(request)
        assert (request.status, request.cancelled_by, request.issued_count) == (Status.CANCELLED, staff_user, 0)
        assert not IssuedCoupon.objects.exists()

    def test_a_running_request_stops_within_one_chunk_and_keeps_exact_counts(self, db, coupon, members, settings):
        request = submit(coupon, "demo", members)
        claimed = services.distribution_claim_next()
        source = services.get_source("demo")
        batches = source.read(source.resolve(members, "user_id"), after=None, batch_size=400)
        writer = services.get_writer()
        services._issue_chunk(claimed, writer, next(batches))
        assert services.distribution_cancel(request=request)
        with pytest.raises(services.ClaimLost):
            services._issue_chunk(claimed, writer, next(batches))  # the chunk in flight rolls back
        batches.close()
        request.refresh_from_db()
        assert (request.status, request.read_count, request.issued_count) == (Status.CANCELLED, 400, 400)
        assert IssuedCoupon.objects.filter(request=request).count() == 400

    def test_a_finished_request_cannot_be_cancelled(self, run_queue_and_reload, db, coupon, members):
        request = submit(coupon, "demo", members)
        run_queue_and_reload(request)
        assert not services.distribution_cancel(request=request)


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

    def test_the_worker_stops_before_the_budget_is_exceeded(self, run_queue_and_reload, db, coupon, members,
                                                              settings):
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
    from datetime import timedelta

    from django.utils import timezone

    duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 11) t(i)")
    later = DistributionRequest(coupon=coupon, source="demo", table="warehouse.main.members", column="user_id",
                                memo="later", not_before=timezone.now() + timedelta(hours=1))
    services.distribution_request_submit(request=later)
    now_one = submit(coupon, "demo", "warehouse.main.members")
    services.distribution_run_queue()
    later.refresh_from_db()
    now_one.refresh_from_db()
    assert (later.status, now_one.status) == (Status.QUEUED, Status.SUCCEEDED)
    assert DistributionRequest.objects.next_in_line(now=timezone.now() + timedelta(hours=2)) == later


def test_a_coupon_deactivated_after_queueing_fails_the_request_cleanly(run_queue_and_reload, db, coupon,
                                                                        duckdb_source):
    duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 11) t(i)")
    request = submit(coupon, "demo", "warehouse.main.members")
    coupon.is_active = False
    coupon.save()
    run_queue_and_reload(request)
    assert request.status == Status.FAILED and "deactivated" in request.error_message
    assert not IssuedCoupon.objects.exists()
