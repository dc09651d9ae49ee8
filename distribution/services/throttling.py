"""An operator's pause and resume of a running request, and the throttle's record of a run it slowed.

A pause is a flag on the running request, not a status: the run keeps its claim and its worker, and waits
between two chunks until it is resumed (distribution/throttle.py). All three are moves of the lifecycle table
that change no status (distribution/lifecycle.py).
"""

from django.db.models import Q
from django.utils import timezone

from ..actors import WORKER, Actor
from ..lifecycle import Move
from ..models import DistributionRequest
from .moves import distribution_move


def distribution_pause(*, distribution: DistributionRequest, actor: Actor) -> bool:
    """Holds a running request after its current chunk; False when it is not running or already paused."""
    return distribution_move(
        distribution=distribution,
        action=Move.PAUSED,
        actor=actor,
        fields={"paused_at": timezone.now(), "paused_by": actor.user},
        where=Q(paused_at=None),
    )


def distribution_resume(*, distribution: DistributionRequest, actor: Actor) -> bool:
    """Lets a paused request go on; False when it is not paused."""
    return distribution_move(
        distribution=distribution,
        action=Move.RESUMED,
        actor=actor,
        fields={"paused_at": None, "paused_by": None},
        where=Q(paused_at__isnull=False),
    )


def distribution_record_throttled(*, distribution: DistributionRequest, seconds: dict[str, float]) -> bool:
    """The history's line for a run the throttle slowed or paused: how long, and for which signals; the live
    note cleared with it."""
    return distribution_move(
        distribution=distribution,
        action=Move.THROTTLED,
        actor=WORKER,
        fields={"throttle": {}},
        where=Q(attempts=distribution.attempts),
        details={
            "throttled_seconds": round(sum(seconds.values()), 1),
            "signals": {signal: round(value, 1) for signal, value in seconds.items()},
        },
    )
