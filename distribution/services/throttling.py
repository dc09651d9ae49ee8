"""An operator's pause and resume of a running request, and the throttle's record of a run it slowed.

A pause is a flag on the running request, not a status: the run keeps its claim and its worker, and waits
between two chunks until it is resumed (distribution/throttle.py).
"""

from django.db import transaction
from django.utils import timezone

from ..actors import WORKER, Actor
from ..models import DistributionRequest, Transition
from .audit import actor_require_permission, transition_record

Status = DistributionRequest.Status
Action = Transition.Action
PERMISSION = "distribution.cancel_distributionrequest"  # who may stop a run may hold it


@transaction.atomic
def distribution_pause(*, distribution: DistributionRequest, actor: Actor) -> bool:
    """Holds a running request after its current chunk; False when it is not running or already paused."""
    actor_require_permission(actor=actor, permission=PERMISSION)
    paused = DistributionRequest.objects.filter(pk=distribution.pk, status=Status.RUNNING, paused_at=None).update(
        paused_at=timezone.now(), paused_by=actor.user
    )
    return _recorded(distribution, paused, Action.PAUSED, actor)


@transaction.atomic
def distribution_resume(*, distribution: DistributionRequest, actor: Actor) -> bool:
    """Lets a paused request go on; False when it is not paused."""
    actor_require_permission(actor=actor, permission=PERMISSION)
    resumed = DistributionRequest.objects.filter(pk=distribution.pk, paused_at__isnull=False).update(
        paused_at=None, paused_by=None
    )
    return _recorded(distribution, resumed, Action.RESUMED, actor)


def _recorded(distribution, changed, action, actor):
    if changed:
        distribution.refresh_from_db()
        transition_record(distribution=distribution, action=action, actor=actor)
    return bool(changed)


def distribution_record_throttled(*, distribution: DistributionRequest, seconds: dict[str, float]):
    """The history's line for a run the throttle slowed or paused: how long, and for which signals."""
    distribution.refresh_from_db()
    transition_record(
        distribution=distribution,
        action=Action.THROTTLED,
        actor=WORKER,
        throttled_seconds=round(sum(seconds.values()), 1),
        signals={signal: round(value, 1) for signal, value in seconds.items()},
    )
