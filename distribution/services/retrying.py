"""Transient failures resume by themselves: the run goes back to the queue with a time to retry at,
after a wait that doubles with each automatic retry (DISTRIBUTION_RETRY_WAIT seconds, then twice that …,
at most DISTRIBUTION_RETRY_TIMES times since a person last pressed Retry); then it fails as any other."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from .. import lifecycle
from ..actors import WORKER
from ..failures import Failure
from ..models import DistributionRequest
from ..timing import rate
from .moves import distribution_move

Move = lifecycle.Move


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
    since = distribution.transitions.filter(action=Move.RETRIED).aggregate(at=Max("at"))["at"]
    scheduled = distribution.transitions.filter(action=Move.RETRY_SCHEDULED)
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
    fields = {
        "retry_at": retry_at,
        "elapsed_seconds": elapsed,
        "rows_per_second": rate(read, elapsed),
        "error_message": failure.text(),
        **failure_fields(failure),
    }
    return distribution_move(
        distribution=distribution,
        action=Move.RETRY_SCHEDULED,
        actor=WORKER,
        fields=fields,
        where=Q(attempts=distribution.attempts),  # the run's fence
        details={**failure_details(failure), "retry_at": retry_at.isoformat()},
    )
