"""The queue: claiming the next request, taking over dead runs, retrying, cancelling (waking the worker is a
part of every move that needs it: moves.distribution_queue_kick)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from .. import lifecycle
from ..actors import WATCHDOG, WORKER, Actor
from ..models import DistributionRequest
from .moves import distribution_move, distribution_queue_kick  # noqa: F401  (kick: part of this module's API)

logger = logging.getLogger(__name__)
Move = lifecycle.Move
CLEARED_FAILURE = {"error_code": "", "error_values": {}, "retry_at": None}  # a new run has no failure yet


def distribution_claim_next() -> DistributionRequest | None:
    """Claims the oldest queued request, or returns None when none is queued or one is running."""
    while (candidate := DistributionRequest.objects.next_in_line()) is not None:
        now = timezone.now()
        fields = {
            "started_at": Coalesce(F("started_at"), now),
            "heartbeat_at": now,
            "attempts": F("attempts") + 1,
            "error_message": "",
            **CLEARED_FAILURE,
        }
        try:
            claimed = distribution_move(
                distribution=candidate, action=Move.STARTED, actor=WORKER, fields=fields, details=_attempt
            )
        except IntegrityError:
            return None  # the partial unique index: another request is running
        if claimed:
            return candidate
    return None


def _attempt(distribution):
    return {"attempt": distribution.attempts}


def distribution_requeue_stale(*, now=None):
    """Queues again the running requests whose worker stopped reporting (it died)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.DISTRIBUTION_STALE_AFTER)
    for distribution in DistributionRequest.objects.stale(now, settings.DISTRIBUTION_STALE_AFTER):
        if distribution_move(
            distribution=distribution, action=Move.TAKEN_OVER, actor=WATCHDOG, where=Q(heartbeat_at__lt=cutoff)
        ):
            logger.warning("distribution request %s had no heartbeat; queued again", distribution.pk)


def distribution_retry(*, distribution: DistributionRequest, actor: Actor) -> bool:
    """Queues a failed request again; it resumes after its checkpoint."""
    return distribution_move(distribution=distribution, action=Move.RETRIED, actor=actor, fields={"finished_at": None})


def distribution_cancel(*, distribution: DistributionRequest, actor: Actor) -> bool:
    """Cancels a request awaiting approval, queued or running.

    A running one stops within one chunk: its worker's next progress record finds the request no
    longer running and rolls that chunk back, so the counts stay exact and what was issued before
    stays issued."""
    now = timezone.now()
    fields = {"cancelled_by": actor.user, "cancelled_at": now, "finished_at": now}
    return distribution_move(distribution=distribution, action=Move.CANCELLED, actor=actor, fields=fields)
