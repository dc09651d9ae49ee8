"""The one audit path: every move of a request (services.distribution_move) is written here, and logged."""

from django.db import transaction
from django.utils import timezone

from common.logs import log_transition

from ..actors import Actor
from ..models import DistributionRequest, Transition

COUNTED = ("target_count", "read_count", "issued_count", "reissued_count", "skipped_count", "revoked_count")


def transition_record(*, distribution: DistributionRequest | None, action: str, actor: Actor, **details) -> Transition:
    """Records what just happened to `distribution` (call it inside the transition's transaction, after the
    change, so the record and the change commit together). None: a coupon a Coupon API call issued."""
    status = distribution.status if distribution is not None else ""
    transition = Transition.objects.create(
        distribution=distribution,
        action=action,
        status=status,
        actor_kind=actor.kind,
        actor=actor.user,
        actor_name=actor.name,
        at=timezone.now(),
        counts={field: getattr(distribution, field) for field in COUNTED} if distribution is not None else {},
        details=details,
    )
    line = {
        "request_id": getattr(distribution, "pk", None),
        "event": action,
        "status": status,
        "actor": actor.name or actor.kind,
        **details,
    }
    transaction.on_commit(lambda: log_transition(**line))  # a rolled-back transition never happened
    return transition
