"""A request's way into the queue: drafted with a preview, confirmed by its requester, approved by another."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import lifecycle
from ..actors import Actor
from ..models import DistributionRequest
from ..selectors import (
    audience_check,
    audience_holders_count,
    audience_holdout_count,
    distribution_estimate_seconds,
    distribution_needs_approval,
)
from .moves import distribution_move, distribution_move_record, distribution_move_require

Status = DistributionRequest.Status
Move = lifecycle.Move


def distribution_preview(*, distribution: DistributionRequest, audience=None) -> DistributionRequest:
    """Checks an unsaved request against its rules and its source, and fills in its preview; saves nothing.

    The table and column become the source's metadata spelling. `audience` is audience_check's answer
    when the caller has just asked it. Raises ValidationError keyed by form field: the admin form calls
    this while it validates, so every refusal lands on the field it is about.
    """
    _check_all(distribution.check_start, distribution.coupon.check_issuable)
    preview_take(distribution=distribution, audience=audience)
    return distribution


def distribution_draft(
    *, distribution: DistributionRequest, actor: Actor, audience=None, previewed: bool = False
) -> DistributionRequest:
    """Saves an unsaved request as a draft with its preview (distribution_preview's, taken now unless
    `previewed`). The cheap rules are checked again either way: nothing the form let through by
    mistake is saved. Raises ValidationError keyed by form field; nothing is saved then.
    """
    if previewed:
        _check_all(
            distribution.check_start,
            distribution.coupon.check_issuable,
            lambda: distribution.coupon.check_budget(distribution.would_issue),
        )
    else:
        distribution_preview(distribution=distribution, audience=audience)
    distribution.requested_by, distribution.status = actor.user, Status.DRAFT
    distribution.full_clean()
    with transaction.atomic():
        distribution.save()
        distribution_move_record(distribution=distribution, action=Move.DRAFTED, actor=actor)
    return distribution


def _check_all(*checks):
    """Runs every check and raises their errors together, so a form shows all its mistakes at once."""
    errors = {}
    for check in checks:
        try:
            check()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


PREVIEW_FIELDS = (
    "table",
    "column",
    "target_count",
    "audience_fingerprint",
    "audience_rows_fingerprint",
    "sample_ids",
    "invalid_count",
    "duplicate_count",
    "held_count",
    "preview_reissue_count",
    "holdout_count",
    "estimated_seconds",
)


def preview_take(*, distribution: DistributionRequest, audience=None):
    """Fills in the preview (PREVIEW_FIELDS) from the source as it is now, saving nothing; raises
    ValidationError, keyed by form field, for a wrong table or a budget the preview would exceed."""
    target, profile = audience or audience_check(
        source=distribution.source, table=distribution.table, column=distribution.column
    )
    distribution.table, distribution.column = target.display_name, target.column
    distribution.target_count, distribution.sample_ids = profile.targets, profile.samples
    distribution.audience_fingerprint = profile.fingerprint
    distribution.audience_rows_fingerprint = profile.rows_fingerprint
    distribution.invalid_count, distribution.duplicate_count = profile.invalid, profile.duplicates
    distribution.held_count, distribution.preview_reissue_count = audience_holders_count(
        coupon=distribution.coupon, source=distribution.source, target=target, targets=profile.targets
    )
    distribution.holdout_count = audience_holdout_count(
        coupon=distribution.coupon, source=distribution.source, target=target
    )
    distribution.coupon.check_budget(distribution.would_issue)
    distribution.estimated_seconds = distribution_estimate_seconds(targets=distribution.target_count)


def distribution_confirm(*, distribution: DistributionRequest, actor: Actor, limits=None) -> str | None:
    """Confirms a draft: queued, or awaiting approval when large (over `limits`, the site's approval limits
    unless given: a schedule's runs carry their own). None if it was no longer a draft
    (a second click), so nothing is ever queued twice. Only the requester may confirm; a draft that would
    issue nothing is refused (ValidationError), changing nothing."""
    distribution_move_require(distribution=distribution, action=Move.CONFIRMED, actor=actor)
    _check_all(
        distribution.coupon.check_issuable,
        lambda: distribution.coupon.check_budget(distribution.would_issue),
        distribution.check_would_issue,
    )
    now = timezone.now()
    large = distribution_needs_approval(distribution=distribution, limits=limits)
    fields = {"confirmed_by": actor.user, "confirmed_at": now, "queued_at": None if large else now}
    to = Status.AWAITING_APPROVAL if large else Status.QUEUED
    if not distribution_move(distribution=distribution, action=Move.CONFIRMED, actor=actor, fields=fields, to=to):
        return None
    return distribution.status


def distribution_approve(*, distribution: DistributionRequest, actor: Actor) -> bool:
    """Queues a request awaiting approval. False if it is not awaiting approval (a second click).

    Four eyes: the approver needs the approve permission and is never the requester."""
    now = timezone.now()
    fields = {"approved_by": actor.user, "approved_at": now, "queued_at": now}
    return distribution_move(distribution=distribution, action=Move.APPROVED, actor=actor, fields=fields)


def distribution_reject(*, distribution: DistributionRequest, actor: Actor, reason: str) -> bool:
    """Turns down a request awaiting approval, saying why (the requester reads it); only someone who may
    approve it may. False if it was no longer awaiting approval."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why you reject it: the requester reads the reason.")})
    now = timezone.now()
    fields = {"rejected_by": actor.user, "rejected_at": now, "rejection_reason": reason, "finished_at": now}
    return distribution_move(
        distribution=distribution, action=Move.REJECTED, actor=actor, fields=fields, details={"reason": reason}
    )


def distribution_discard(*, distribution: DistributionRequest, actor: Actor) -> bool:
    """Discards a draft (only its requester may). False if it was no longer a draft. A draft was never
    announced, so nobody needs telling."""
    fields = {"finished_at": timezone.now()}
    return distribution_move(distribution=distribution, action=Move.DISCARDED, actor=actor, fields=fields)


def distribution_submit(*, distribution: DistributionRequest, actor: Actor, audience=None) -> DistributionRequest:
    """Drafts and confirms in one step, for callers with no one to show a preview to (the command line). A
    request that would issue nothing is refused before anything is saved (ValidationError)."""
    distribution_preview(distribution=distribution, audience=audience)
    distribution.check_would_issue()
    distribution_draft(distribution=distribution, actor=actor, previewed=True)
    distribution_confirm(distribution=distribution, actor=actor)
    return distribution
