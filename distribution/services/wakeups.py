"""What one wake-up of the worker does, and the distribution cluster's periodic look at the queue."""

import contextlib

from django.conf import settings
from django.utils import timezone
from django_q.models import OrmQ

from ..lease import Lease
from ..models import DistributionRequest
from .queue import distribution_claim_next, distribution_queue_kick, distribution_requeue_stale
from .revoking import distribution_revoke_run
from .running import distribution_run

Status = DistributionRequest.Status


def distribution_run_queue(*, stop=None):
    """Finishes pending revokes, then runs queued requests one at a time, oldest first, until none is
    left, another runs, or `stop` (set on SIGTERM, or once the worker's cluster is stopping) is set.
    A stopping worker claims nothing: the request stays queued for the next start."""
    stopping = stop.is_set if stop is not None else lambda: False
    for distribution in DistributionRequest.objects.filter(status=Status.REVOKING):
        if stopping():
            return
        distribution_revoke_run(distribution=distribution, stop=stop)
    distribution_requeue_stale()
    while not stopping() and (distribution := distribution_claim_next()) is not None:
        with Lease(distribution) as lease:
            distribution_run(distribution=distribution, stop=_either(stop, lease.lost))


def distribution_watch():
    """Takes over runs whose lease lapsed, and wakes the worker when work waits and no task is pending
    (a retry whose wait is over, a run stopped by a shutdown, a lost wake-up): periodic, so nothing
    waits for a new request to arrive, and idempotent."""
    distribution_requeue_stale()
    if DistributionRequest.objects.filter(status=Status.RUNNING).exists():
        return
    waiting = DistributionRequest.objects.next_in_line() or DistributionRequest.objects.filter(status=Status.REVOKING)
    if waiting and not _wake_up_pending():
        distribution_queue_kick()


def _wake_up_pending():
    """A task not handed out yet. One handed out may belong to a worker that died (the broker hands it
    out again only after `retry`, hours later), so it does not count."""
    return OrmQ.objects.filter(key=settings.Q_CLUSTER["name"], lock__lte=timezone.now()).exists()


class _either:
    """Set when any of its events is set: the worker stops, or the run's lease is gone."""

    def __init__(self, *events):
        self.events = [event for event in events if event is not None]

    def is_set(self):
        return any(event.is_set() for event in self.events)

    def interrupts(self, allowed):
        """The worker's stop decides when a run may be ended at once (tasks.Stop)."""
        for event in self.events:
            if hasattr(event, "interrupts"):
                return event.interrupts(allowed)
        return contextlib.nullcontext()
