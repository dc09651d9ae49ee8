"""The request's lifecycle, declared once: its statuses, its moves, and for each move from which statuses it may
happen, where it leads, what it announces, whether it wakes the worker and who may make it.

Services say *which* move they make; this table says whether it may happen. `services.distribution_move` performs
one (the conditional UPDATE, the transition row, the log line, the on-commit event or wake-up); the admin's
buttons, the progress endpoint and the templates ask `may` here. Nothing in this module touches the database, so
the models, the signals and the admin can all import it. README's "Lifecycle" block is checked against `MOVES`
by tests/test_docs.py.
"""

from dataclasses import dataclass

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .actors import Actor, Kind


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    REJECTED = "rejected", _("Rejected")
    REVOKING = "revoking", _("Revoking")
    REVOKED = "revoked", _("Revoked")
    DISCARDED = "discarded", _("Discarded")
    AUDIENCE_CHANGED = "audience_changed", _("Audience changed")


# Nothing happens to these by itself: only a person's move (revoke, preview again) takes one further.
FINISHED = frozenset(
    {
        Status.SUCCEEDED,
        Status.FAILED,
        Status.CANCELLED,
        Status.REJECTED,
        Status.REVOKED,
        Status.DISCARDED,
        Status.AUDIENCE_CHANGED,
    }
)
# These change by themselves (the worker): pages showing one keep polling.
LIVE = frozenset({Status.QUEUED, Status.RUNNING, Status.REVOKING})


class Move(models.TextChoices):
    """Every move a request can make, and the support moves on one member's coupon. The values are what the
    transition rows store (past tense: they are the history)."""

    DRAFTED = "drafted", _("Drafted with a preview")
    CONFIRMED = "confirmed", _("Confirmed")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    DISCARDED = "discarded", _("Discarded")
    CANCELLED = "cancelled", _("Cancelled")
    STARTED = "started", _("Started")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    STOPPED = "stopped", _("Stopped by a worker shutdown; queued again")
    TAKEN_OVER = "taken_over", _("The system stopped reporting; queued again")
    RETRY_SCHEDULED = "retry_scheduled", _("Failed for a passing reason; retries by itself")
    RETRIED = "retried", _("Retried from the checkpoint")
    REVOKE_STARTED = "revoke_started", _("Revoke started")
    REVOKED = "revoked", _("Revoked")
    AUDIENCE_CHANGED = "audience_changed", _("Stopped: the audience changed since the preview")
    PREVIEWED_AGAIN = "previewed_again", _("Previewed again; back to draft")
    MEMBER_REVOKED = "member_revoked", _("One member's coupon revoked")
    MEMBER_RESTORED = "member_restored", _("One member's coupon restored")
    PAUSED = "paused", _("Paused by an operator")
    RESUMED = "resumed", _("Resumed by an operator")
    THROTTLED = "throttled", _("Slowed down to spare the members")


# Who may make a move. Each rule is a name the table uses and a test on (request, actor).
class Who(models.TextChoices):
    DRAFTER = "drafter", _("anyone who may draft requests")
    REQUESTER = "requester", _("the person who drafted it")
    REQUESTER_OR_DRAFTER = "requester_or_drafter", _("the person who drafted it (anyone who drafts, if nobody did)")
    APPROVER = "approver", _("an approver who is not the requester")
    CANCELLER = "canceller", _("anyone with the cancel permission")
    REVOKER = "revoker", _("anyone with the revoke permission")
    RETRIER = "retrier", _("anyone who may change requests")
    SYSTEM = "system", _("the system")


@dataclass(frozen=True)
class Outcome:
    """Where a move leads and what it sets off there."""

    status: str | None  # None: the request's status is unchanged
    event: str = ""  # the signal announced on commit (its name in signals.Event), if any
    event_label: object = ""
    kicks: bool = False  # wakes the worker on commit


@dataclass(frozen=True)
class Rule:
    sources: frozenset  # statuses it may start from; empty: a new request (drafted) or a member's coupon
    who: str
    outcomes: tuple  # one Outcome, or several that the service chooses between (confirm: queued or approval)
    needs_coupons: bool = False  # only for a request that gave coupons (issued or re-issued)

    @property
    def guard(self) -> Q:
        """What the claim's UPDATE adds to the status: the conditions the status alone cannot say."""
        return GAVE_COUPONS if self.needs_coupons else Q()

    def outcome(self, to=None) -> Outcome:
        """The outcome leading to status `to` (None: the move's only one)."""
        if to is None and len(self.outcomes) == 1:
            return self.outcomes[0]
        for outcome in self.outcomes:
            if outcome.status == to:
                return outcome
        raise ValueError(f"no outcome {to!r} for this move")


def _rule(sources, target, who, event="", event_label="", *, kicks=False, needs_coupons=False):
    return Rule(frozenset(sources), who, (Outcome(target, event, event_label, kicks),), needs_coupons)


# A request that gave coupons, issued or re-issued; a partly finished one too (failed, cancelled, stopped).
GAVE_COUPONS = Q(issued_count__gt=0) | Q(reissued_count__gt=0)

MOVES = {
    Move.DRAFTED: _rule((), Status.DRAFT, Who.DRAFTER),
    # Confirming queues a request, or sends a large one for approval first (four eyes).
    Move.CONFIRMED: Rule(
        frozenset({Status.DRAFT}),
        Who.REQUESTER,
        (
            Outcome(Status.QUEUED, kicks=True),
            Outcome(Status.AWAITING_APPROVAL, "approval_needed", _("Approval needed")),
        ),
    ),
    Move.APPROVED: _rule({Status.AWAITING_APPROVAL}, Status.QUEUED, Who.APPROVER, kicks=True),
    Move.REJECTED: _rule({Status.AWAITING_APPROVAL}, Status.REJECTED, Who.APPROVER, "rejected", _("Rejected")),
    Move.DISCARDED: _rule({Status.DRAFT}, Status.DISCARDED, Who.REQUESTER),
    Move.CANCELLED: _rule(
        {Status.AWAITING_APPROVAL, Status.QUEUED, Status.RUNNING},
        Status.CANCELLED,
        Who.CANCELLER,
        "cancelled",
        _("Cancelled"),
    ),
    Move.STARTED: _rule({Status.QUEUED}, Status.RUNNING, Who.SYSTEM, "started", _("Started")),
    Move.SUCCEEDED: _rule({Status.RUNNING}, Status.SUCCEEDED, Who.SYSTEM, "succeeded", _("Succeeded")),
    Move.FAILED: _rule({Status.RUNNING}, Status.FAILED, Who.SYSTEM, "failed", _("Failed")),
    Move.STOPPED: _rule({Status.RUNNING}, Status.QUEUED, Who.SYSTEM),
    Move.TAKEN_OVER: _rule({Status.RUNNING}, Status.QUEUED, Who.SYSTEM, kicks=True),
    # A transient failure (failures.py): queued with a time to retry at; the cluster's periodic look wakes it then.
    Move.RETRY_SCHEDULED: _rule({Status.RUNNING}, Status.QUEUED, Who.SYSTEM, "retrying", _("Failed; retrying")),
    Move.RETRIED: _rule({Status.FAILED}, Status.QUEUED, Who.RETRIER, kicks=True),
    Move.AUDIENCE_CHANGED: _rule(
        {Status.RUNNING}, Status.AUDIENCE_CHANGED, Who.SYSTEM, "audience_changed", _("Audience changed")
    ),
    Move.PREVIEWED_AGAIN: _rule({Status.AUDIENCE_CHANGED}, Status.DRAFT, Who.REQUESTER_OR_DRAFTER),
    Move.REVOKE_STARTED: _rule(
        {Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.AUDIENCE_CHANGED},
        Status.REVOKING,
        Who.REVOKER,
        kicks=True,
        needs_coupons=True,
    ),
    Move.REVOKED: _rule({Status.REVOKING}, Status.REVOKED, Who.SYSTEM, "revoked", _("Revoked")),
    # Support's moves on one member's coupon: recorded (who, why), the request's status unchanged.
    Move.MEMBER_REVOKED: _rule((), None, Who.REVOKER),
    Move.MEMBER_RESTORED: _rule((), None, Who.REVOKER),
    # A pause is a flag on the running request, not a status (distribution/throttle.py): the run keeps its claim
    # and waits between chunks. It outlives the run it held (a shutdown queues it, a long pause fails it) until
    # resumed. The throttle's record of a run it slowed changes nothing either.
    Move.PAUSED: _rule({Status.RUNNING}, None, Who.CANCELLER),
    Move.RESUMED: _rule({Status.RUNNING, Status.QUEUED, Status.FAILED}, None, Who.CANCELLER),
    Move.THROTTLED: _rule({Status.RUNNING}, None, Who.SYSTEM),
}


def _events():
    seen = {}
    for rule in MOVES.values():
        for outcome in rule.outcomes:
            if outcome.event:
                seen.setdefault(outcome.event, outcome.event_label)
    return [(name.upper(), (name, label)) for name, label in seen.items()]


# The events other apps hear of (signals.Event is this list): derived from the table, never listed twice.
Event = models.TextChoices("Event", _events())


def sources(action) -> frozenset:
    """The statuses `action` may start from."""
    return MOVES[action].sources


def gave_coupons(distribution) -> bool:
    return bool(distribution.issued_count or distribution.reissued_count)


def status_allows(*, distribution, action) -> bool:
    """Whether the request's status (and the move's guard, read from the object) lets the move happen now."""
    rule = MOVES[action]
    if rule.sources and distribution.status not in rule.sources:
        return False
    return gave_coupons(distribution) or not rule.needs_coupons


def who_refusal(*, distribution, action, actor):
    """None if `actor` may make the move; otherwise the reason, for a PermissionDenied."""
    return WHO_TESTS[MOVES[action].who](distribution, actor)


def may(*, distribution, action, user) -> bool:
    """Whether this person may make this move on this request now: the buttons and the actions ask this."""
    actor = Actor.for_user(user) if user is not None else None
    return (
        actor is not None
        and status_allows(distribution=distribution, action=action)
        and who_refusal(distribution=distribution, action=action, actor=actor) is None
    )


def _is_requester(distribution, actor):
    return distribution.requested_by_id == actor.user_id


def _requester(distribution, actor):
    if _is_requester(distribution, actor):
        return None
    return _("Only the person who drafted a request may confirm or discard it.")


def _requester_or_drafter(distribution, actor):
    if distribution.requested_by_id is None:
        # Queued from the command line: nobody drafted it, so anybody who may draft takes it over.
        return _permission(actor, "distribution.add_distributionrequest")
    if _is_requester(distribution, actor):
        return None
    return _("Only the person who drafted a request may preview it again and confirm it.")


def _approver(distribution, actor):
    if actor.user is None:
        return _("Approving needs the permission to approve distribution requests.")
    if distribution.requested_by_id is not None and _is_requester(distribution, actor):
        return _("Nobody approves or rejects their own request: another approver must.")
    return _permission(actor, "distribution.approve_distributionrequest")


def _permission(actor, permission):
    """A person needs the permission; the command line and the system act for the operators who run them."""
    if actor.user is not None and not actor.user.has_perm(permission):
        return _("You do not have the permission to do this.")
    return None


def _system(distribution, actor):
    if actor.kind == Kind.USER:
        return _("Only the system makes this move.")
    return None


WHO_TESTS = {
    Who.DRAFTER: lambda distribution, actor: _permission(actor, "distribution.add_distributionrequest"),
    Who.REQUESTER: _requester,
    Who.REQUESTER_OR_DRAFTER: _requester_or_drafter,
    Who.APPROVER: _approver,
    Who.CANCELLER: lambda distribution, actor: _permission(actor, "distribution.cancel_distributionrequest"),
    Who.REVOKER: lambda distribution, actor: _permission(actor, "distribution.revoke_distributionrequest"),
    Who.RETRIER: lambda distribution, actor: _permission(actor, "distribution.change_distributionrequest"),
    Who.SYSTEM: _system,
}
