"""The one function that moves a request along its lifecycle (distribution/lifecycle.py says which moves exist)."""

import logging
from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django_q.tasks import async_task

from .. import lifecycle
from ..actors import Actor
from ..models import DistributionRequest
from ..signals import send_on_commit
from .audit import transition_record

logger = logging.getLogger(__name__)


def distribution_move(
    *,
    distribution: DistributionRequest,
    action: str,
    actor: Actor,
    fields: dict | None = None,
    where: Q | None = None,
    details: dict | Callable[[DistributionRequest], dict] | None = None,
    to: str | None = None,
) -> bool:
    """Makes the move `action` if the table allows it from the request's status now; False (changing nothing)
    if the request had moved on meanwhile (a second click, a worker that lost its claim).

    A claim by conditional UPDATE: the status must be one the move starts from (plus the move's guard and
    `where`, e.g. the run's fence), and the UPDATE sets the move's status and `fields` together. Then, in
    the same transaction, the transition row (with `details`, or what `details(distribution)` returns from the
    moved request) and the log line; on commit, the move's event and the
    worker's wake-up. Raises PermissionDenied, changing nothing, if `actor` may not make the move.
    """
    rule = lifecycle.MOVES[action]
    outcome = rule.outcome(to)  # `to`: which of the move's outcomes, for a move with several (confirm)
    distribution_move_require(distribution=distribution, action=action, actor=actor)
    values = {**(fields or {}), **({"status": outcome.status} if outcome.status else {})}
    with transaction.atomic():
        claim = DistributionRequest.objects.filter(rule.guard, where or Q(), pk=distribution.pk)
        moved = claim.filter(status__in=rule.sources).update(**values)
        distribution.refresh_from_db()
        if moved:
            facts = details(distribution) if callable(details) else details or {}
            transition_record(distribution=distribution, action=action, actor=actor, **facts)
            _announce(outcome, distribution)
    return bool(moved)


def distribution_move_record(*, distribution: DistributionRequest | None, action: str, actor: Actor, **details):
    """Records a move that changes no request's status (support's change of one member's coupon), after the
    same check of who may make it. Call it inside the change's transaction."""
    distribution_move_require(distribution=distribution, action=action, actor=actor)
    return transition_record(distribution=distribution, action=action, actor=actor, **details)


def distribution_move_require(*, distribution: DistributionRequest | None, action: str, actor: Actor):
    """Raises PermissionDenied unless `actor` may make the move (whatever the status: a second click is no
    refusal, it just finds the move made)."""
    refusal = lifecycle.who_refusal(distribution=distribution, action=action, actor=actor)
    if refusal is not None:
        raise PermissionDenied(refusal)


def _announce(outcome, distribution):
    if outcome.event:
        send_on_commit(outcome.event, distribution)
    if outcome.kicks:
        transaction.on_commit(distribution_queue_kick)


def distribution_queue_kick():
    """Wakes the worker; which request runs next is decided by the database, not by this task."""
    async_task("distribution.tasks.run_queue", task_name="distribution-queue", group="distribution")
