"""Run failures decided in one place (transient: retried by itself after a growing wait; permanent: the
run ends), rendered in the reader's language; the lease; a stopping worker claims nothing."""

from datetime import timedelta

import pytest
import requests
import trino.exceptions
from django.db import utils as db
from django.utils import timezone, translation
from django_q.models import OrmQ

from distribution import services
from distribution.cluster import cluster_stop_begin, cluster_stopping_prepare
from distribution.failures import RunStopped, failure_of
from distribution.lease import Lease, lease_lapsed_since
from distribution.live import progress_detail, status_label
from distribution.models import DistributionRequest, IssuedCoupon, Transition
from distribution.services.audience import AudienceChanged
from distribution.services.running import DistributionError, StopNow
from distribution.sources.base import SourceError
from distribution.tasks import Stop
from distribution.throttle import PausedTooLong
from distribution.writers.base import WriteFailed, Written
from distribution.writers.http import Refused, Retryable
from tests.helpers import by

Status = DistributionRequest.Status
Action = Transition.Action


def raised(outer, inner):
    """`outer` raised while handling `inner`, as the run's code raises its wrappers."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as exc:
        return exc


def trino_error(name):
    return trino.exceptions.TrinoQueryError({"errorName": name, "message": f"{name} happened"}, "q1")


def coupon_service(answer):
    """The HTTP writer's chunk error as the run sees it: DistributionError from WriteFailed from `answer`."""
    return raised(DistributionError(str(answer)), raised(WriteFailed(str(answer), Written(0), 0), answer))


TRANSIENT = {
    "the database restarted": (db.OperationalError("server closed the connection unexpectedly"), "database"),
    "the connection was cut": (db.InterfaceError("connection already closed"), "database"),
    "the coupon service kept answering 5xx": (coupon_service(Retryable("answered 503")), "coupon_service"),
    "the coupon service timed out": (
        coupon_service(raised(Retryable("did not answer"), requests.Timeout("read timed out"))),
        "coupon_service",
    ),
    "Trino was unreachable": (
        raised(SourceError("could not reach"), requests.ConnectionError("refused")),
        "warehouse_unreachable",
    ),
    "Trino abandoned the query": (raised(SourceError("Trino"), trino_error("ABANDONED_QUERY")), "warehouse_query"),
}
PERMANENT = {
    "the budget was reached": (RunStopped("budget_reached", new=5, left=4), "budget_reached"),
    "the coupon expired or was deactivated": (RunStopped("coupon_unusable", code="X"), "coupon_unusable"),
    "the audience changed": (AudienceChanged("audience_count_changed", now=4, confirmed=10), "audience_count_changed"),
    "paused past the warehouse's patience": (PausedTooLong(300), "paused_too_long"),
    "the coupon service refused (4xx)": (coupon_service(Refused("answered 404")), "coupon_service_refused"),
    "permission denied": (raised(SourceError("no"), trino_error("PERMISSION_DENIED")), "permission_denied"),
    "the table is gone": (raised(SourceError("no"), trino_error("TABLE_NOT_FOUND")), "warehouse_error"),
    "an administrator killed the query": (
        raised(SourceError("no"), trino_error("ADMINISTRATIVELY_KILLED")),
        "warehouse_error",
    ),
    "a bug nobody foresaw": (ValueError("unexpected"), "run_error"),
}


@pytest.mark.parametrize("reason", TRANSIENT)
def test_a_transient_reason_is_retried(reason):
    exc, code = TRANSIENT[reason]
    failure = failure_of(exc)
    assert failure.transient and failure.code.startswith(code), failure


@pytest.mark.parametrize("reason", PERMANENT)
def test_a_permanent_reason_ends_the_run(reason):
    exc, code = PERMANENT[reason]
    failure = failure_of(exc)
    assert not failure.transient and failure.code == code, failure


@pytest.fixture
def running(db, coupon, members):
    services.distribution_submit(
        actor=by(),
        distribution=DistributionRequest(
            coupon=coupon, source="demo", table=members, column="user_id", memo="failures"
        ),
    )
    return services.distribution_claim_next()


def fail(distribution, exc):
    services.distribution_fail(distribution=distribution, error=exc, elapsed=1.0)
    distribution.refresh_from_db()
    return distribution


def test_a_transient_failure_queues_the_run_again_after_a_doubling_wait(running, settings):
    settings.DISTRIBUTION_RETRY_WAIT, settings.DISTRIBUTION_RETRY_TIMES = 60, 2
    outage = db.OperationalError("terminating connection due to administrator command")
    waits = []
    for attempt in range(2):
        before = timezone.now()
        fail(running, outage)
        assert running.status == Status.QUEUED and running.error_code == "database_unavailable"
        waits.append(round((running.retry_at - before).total_seconds() / 60))
        assert DistributionRequest.objects.next_in_line() is None  # waits its turn
        assert status_label(running).startswith("Queued · retrying at")
        DistributionRequest.objects.filter(pk=running.pk).update(retry_at=timezone.now())  # the wait is over
        running = services.distribution_claim_next()
        assert running.attempts == attempt + 2 and running.retry_at is None and running.error_code == ""
    assert waits == [1, 2]
    assert fail(running, outage).status == Status.FAILED  # retries used up
    actions = list(running.transitions.order_by("at", "pk").values_list("action", flat=True))
    assert actions.count(Action.RETRY_SCHEDULED) == 2 and actions[-1] == Action.FAILED


def test_a_permanent_failure_ends_the_run_at_once(running):
    assert fail(running, coupon_service(Refused("answered 404: unknown coupon"))).status == Status.FAILED
    assert running.retry_at is None and running.error_code == "coupon_service_refused"


def test_a_failure_reads_in_the_readers_language(running):
    fail(running, raised(SourceError("x"), trino_error("TABLE_NOT_FOUND")))
    transition = running.transitions.get(action=Action.FAILED)
    with translation.override("en"):
        english = (running.error_text, transition.details_text)
    with translation.override("ko"):
        korean = (running.error_text, transition.details_text)
    assert english[0] == english[1] == "Trino reported TABLE_NOT_FOUND: TABLE_NOT_FOUND happened"
    assert korean[0] == korean[1] != english[0] and "TABLE_NOT_FOUND happened" in korean[0]


@pytest.mark.parametrize(
    "reason, english, korean",
    [
        (RunStopped("budget_reached", new=1200, left=1000), "1,200 more coupons", "1,200장"),
        (RunStopped("coupon_unusable", code="SPRING"), "Coupon “SPRING” was deactivated", "SPRING"),
        (PausedTooLong(300), "more than 300 seconds", "300"),
    ],
)
def test_the_runs_own_reasons_read_in_the_readers_language(running, reason, english, korean):
    """Stored as a code and values: a Korean reader of a run stopped by an English-speaking worker reads Korean."""
    with translation.override("en"):
        fail(running, raised(DistributionError("wrapped"), reason))
    assert running.status == Status.FAILED and running.error_code == reason.failure.code
    with translation.override("en"):
        assert english in running.error_text
    with translation.override("ko"):
        assert korean in running.error_text and running.error_text.isascii() is False


def test_a_changed_audience_reads_in_the_readers_language(running):
    with translation.override("en"):
        services.distribution_stop_audience_changed(
            distribution=running,
            reason=AudienceChanged("audience_count_changed", now=4, confirmed=10, issued=0, reissued=0),
            elapsed=1.0,
        )
    running.refresh_from_db()
    assert running.status == Status.AUDIENCE_CHANGED
    with translation.override("ko"):
        assert running.error_text.startswith("테이블의 회원이 지금 4명입니다. 확정한 인원은 10명이었습니다.")
    with translation.override("en"):
        assert running.error_text.startswith("The table now has 4 members; you confirmed 10.")


@pytest.mark.django_db(transaction=True)  # the lease writes on its own connection: it sees only committed rows
def test_the_lease_is_renewed_without_chunks_and_lost_once_taken_over(running, settings):
    settings.DISTRIBUTION_LEASE_INTERVAL, settings.DISTRIBUTION_STALE_AFTER = 0.1, 0.6
    old = timezone.now() - timedelta(hours=1)
    DistributionRequest.objects.filter(pk=running.pk).update(heartbeat_at=old)
    with Lease(running) as lease:
        lease.ended.wait(0.5)
        assert DistributionRequest.objects.get(pk=running.pk).heartbeat_at > old and not lease.lost.is_set()
        DistributionRequest.objects.filter(pk=running.pk).update(status=Status.QUEUED)  # taken over
        assert lease.lost.wait(5)


def test_a_run_whose_worker_stopped_reporting_says_so_instead_of_a_rate(running, settings):
    DistributionRequest.objects.filter(pk=running.pk).update(read_count=10, heartbeat_at=timezone.now())
    running.refresh_from_db()
    assert "per second" in progress_detail(running) and lease_lapsed_since(running) is None
    stopped = timezone.now() - timedelta(seconds=3 * settings.DISTRIBUTION_LEASE_INTERVAL + 1)
    DistributionRequest.objects.filter(pk=running.pk).update(heartbeat_at=stopped)
    running.refresh_from_db()
    detail = progress_detail(running)
    assert "per second" not in detail and "the worker stopped reporting at" in detail and "taken over" in detail
    assert lease_lapsed_since(running) == stopped


def test_the_periodic_look_takes_over_a_lapsed_lease_and_wakes_the_worker(running, settings):
    stale = timezone.now() - timedelta(seconds=settings.DISTRIBUTION_STALE_AFTER + 1)
    DistributionRequest.objects.filter(pk=running.pk).update(heartbeat_at=stale)
    services.distribution_watch()
    running.refresh_from_db()
    assert running.status == Status.QUEUED and OrmQ.objects.count() == 1
    services.distribution_watch()
    assert OrmQ.objects.count() == 1  # one wake-up waiting is enough


def test_a_worker_of_a_stopping_cluster_claims_nothing(db, coupon, members):
    services.distribution_submit(
        actor=by(),
        distribution=DistributionRequest(coupon=coupon, source="demo", table=members, column="user_id", memo="stop"),
    )
    cluster_stopping_prepare()
    try:
        cluster_stop_begin()
        services.distribution_run_queue(stop=Stop())
    finally:
        cluster_stopping_prepare()  # a fresh, lowered flag for the tests after this one
    assert DistributionRequest.objects.get().status == Status.QUEUED and not IssuedCoupon.objects.exists()


def test_a_stop_ends_a_waiting_run_at_once_but_never_inside_a_chunk():
    stop = Stop()
    with stop.interrupts(allowed=True):
        with stop.interrupts(allowed=False):
            stop.set()  # inside a chunk: only noted
        with pytest.raises(StopNow):
            stop.set()  # waiting on the warehouse: at once
    assert stop.is_set() and not stop.interruptible
