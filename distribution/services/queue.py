"""The queue: waking the worker, claiming the next request, taking over dead runs, retrying, cancelling."""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_q.tasks import async_task

from ..actors import WATCHDOG, WORKER, Actor
from ..models import DistributionRequest, Transition
from ..signals import Event, send_on_commit
from .audit import actor_require_permission, transition_record

logger = logging.getLogger(__name__)
Status = DistributionRequest.Status
Action = Transition.Action
CLEARED_FAILURE = {"error_code": "", "error_values": {}, "retry_at": None}  # a new run has no failure yet


def distribution_queue_kick():
    """Wakes the worker; which request runs next is decided by the database, not by this task."""
    async_task("distribution.tasks.run_queue", task_name="distribution-queue", group="distribution")


def distribution_claim_next() -> DistributionRequest | None:
    """Claims the oldest queued request, or returns None when none is queued or one is running."""
    while (candidate := DistributionRequest.objects.next_in_line()) is not None:
        now = timezone.now()
        try:
            with transaction.atomic():
                claimed = DistributionRequest.objects.filter(pk=candidate.pk, status=Status.QUEUED).update(
                    status=Status.RUNNING,
                    started_at=Coalesce(F("started_at"), now),
                    heartbeat_at=now,
                    attempts=F("attempts") + 1,
                    error_message="",
                    **CLEARED_FAILURE,
                )
                if claimed:
                    candidate.refresh_from_db()
                    transition_record(
                        distribution=candidate, action=Action.STARTED, actor=WORKER, attempt=candidate.attempts
                    )
                    send_on_commit(Event.STARTED, candidate)
        except IntegrityError:
            return None  # the partial unique index: another request is running
        if claimed:
            return candidate
    return None


def distribution_requeue_stale(*, now=None):
    """Queues again the running requests whose worker stopped reporting (it died)."""
    now = now or timezone.now()
    stale = DistributionRequest.objects.stale(now, settings.DISTRIBUTION_STALE_AFTER)
    for distribution in stale:
        with transaction.atomic():
            if stale.filter(pk=distribution.pk).update(status=Status.QUEUED):
                distribution.refresh_from_db()
                transition_record(distribution=distribution, action=Action.TAKEN_OVER, actor=WATCHDOG)
                logger.warning("distribution request %s had no heartbeat; queued again", distribution.pk)


def distribution_retry(*, distribution: DistributionRequest, actor: Actor) -> bool:
    """Queues a failed request again; it resumes after its checkpoint."""
    with transaction.atomic():
        updated = DistributionRequest.objects.filter(pk=distribution.pk, status=Status.FAILED).update(
            status=Status.QUEUED, finished_at=None
        )
        if updated:
            distribution.refresh_from_db()
            transition_record(distribution=distribution, action=Action.RETRIED, actor=actor)
            transaction.on_commit(distribution_queue_kick)
    return bool(updated)


def distribution_cancel(*, distribution: DistributionRequest, actor: Actor) -> bool:
    """Cancels a request awaiting approval (rejects it), queued or running.

    A running one stops within one chunk: its worker's next progress record finds the request no
    longer running and rolls that chunk back, so the counts stay exact and what was issued before
    stays issued."""
    actor_require_permission(actor=actor, permission="distribution.cancel_distributionrequest")
    now = timezone.now()
    with transaction.atomic():
        updated = DistributionRequest.objects.filter(
            pk=distribution.pk, status__in=DistributionRequest.CANCELLABLE
        ).update(status=Status.CANCELLED, cancelled_by=actor.user, cancelled_at=now, finished_at=now)
        if updated:
            distribution.refresh_from_db()
            transition_record(distribution=distribution, action=Action.CANCELLED, actor=actor)
            send_on_commit(Event.CANCELLED, distribution)
    return bool(updated)
