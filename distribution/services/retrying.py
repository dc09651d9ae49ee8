"""Transient failures resume by themselves: the run goes back to the queue with a time to retry at,
after a wait that doubles with each automatic retry (DISTRIBUTION_RETRY_WAIT seconds, then twice that …,
at most DISTRIBUTION_RETRY_TIMES times since a person last pressed Retry); then it fails as any other."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ..actors import WORKER
from ..failures import Failure
from ..models import DistributionRequest, Transition
from ..signals import Event, send_on_commit
from ..timing import rate
from .audit import transition_record

Status = DistributionRequest.Status
Action = Transition.Action


def failure_fields(failure: Failure | None) -> dict:
    """The request's columns for a failure: its code and values (rendered by failures.failure_text)."""
    return {} if failure is None else {"error_code": failure.code, "error_values": failure.values}


def failure_details(failure: Failure | None) -> dict:
    """The transition's details for a failure, so the history renders it in each reader's language."""
    return {} if failure is None else {"code": failure.code, "values": failure.values}


def retry_wait(distribution: DistributionRequest) -> float | None:
    """Seconds before the next automatic retry, or None when the retries are used up."""
    done = _automatic_retries(distribution)
    if done >= settings.DISTRIBUTION_RETRY_TIMES:
        return None
    return settings.DISTRIBUTION_RETRY_WAIT * 2**done


def _automatic_retries(distribution):
    since = distribution.transitions.filter(action=Action.RETRIED).aggregate(at=Max("at"))["at"]
    scheduled = distribution.transitions.filter(action=Action.RETRY_SCHEDULED)
    return (scheduled.filter(at__gt=since) if since else scheduled).count()


@transaction.atomic
def distribution_retry_later(*, distribution: DistributionRequest, failure: Failure, elapsed: float) -> bool:
    """Queues a run that failed for a transient reason again, to resume from its checkpoint at `retry_at`;
    False (changing nothing) for a permanent reason, retries used up, or a run that lost its claim."""
    wait = retry_wait(distribution) if failure.transient else None
    if wait is None:
        return False
    retry_at = timezone.now() + timedelta(seconds=wait)
    read = DistributionRequest.objects.get(pk=distribution.pk).read_count
    moved = DistributionRequest.objects.filter(
        pk=distribution.pk, status=Status.RUNNING, attempts=distribution.attempts
    ).update(
        status=Status.QUEUED,
        retry_at=retry_at,
        elapsed_seconds=elapsed,
        rows_per_second=rate(read, elapsed),
        error_message=failure.text(),
        **failure_fields(failure),
    )
    if moved:
        distribution.refresh_from_db()
        details = {**failure_details(failure), "retry_at": retry_at.isoformat()}
        transition_record(distribution=distribution, action=Action.RETRY_SCHEDULED, actor=WORKER, **details)
        send_on_commit(Event.RETRYING, distribution)
    return bool(moved)
