"""A request's way into the queue: drafted with a preview, confirmed by its requester, approved by another."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..actors import Actor
from ..models import DistributionRequest, Transition
from ..selectors import (
    audience_check,
    audience_holders_count,
    distribution_estimate_seconds,
    distribution_needs_approval,
)
from ..signals import Event, send_on_commit
from .audit import transition_record
from .queue import distribution_queue_kick

Status = DistributionRequest.Status
Action = Transition.Action


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
        transition_record(distribution=distribution, action=Action.DRAFTED, actor=actor)
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
    "sample_ids",
    "invalid_count",
    "duplicate_count",
    "held_count",
    "reissue_count",
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
    distribution.invalid_count, distribution.duplicate_count = profile.invalid, profile.duplicates
    distribution.held_count, distribution.reissue_count = audience_holders_count(
        coupon=distribution.coupon, source=distribution.source, target=target, targets=profile.targets
    )
    distribution.coupon.check_budget(distribution.would_issue)
    distribution.estimated_seconds = distribution_estimate_seconds(targets=distribution.target_count)


def distribution_confirm(*, distribution: DistributionRequest, actor: Actor, limits=None) -> str | None:
    """Confirms a draft: queued, or awaiting approval when large (over `limits`, the site's approval
    limits unless given). None if it was no longer a draft (a second click), so nothing is ever queued
    twice. Only the requester may confirm."""
    if not distribution.may_be_confirmed_by(actor.user):
        raise PermissionDenied(_("Only the person who drafted a request may confirm or discard it."))
    distribution.coupon.check_issuable()
    distribution.coupon.check_budget(distribution.would_issue)
    large = distribution_needs_approval(distribution=distribution, limits=limits)
    status = Status.AWAITING_APPROVAL if large else Status.QUEUED
    now = timezone.now()
    with transaction.atomic():
        updated = DistributionRequest.objects.filter(pk=distribution.pk, status=Status.DRAFT).update(
            status=status,
            confirmed_by=actor.user,
            confirmed_at=now,
            queued_at=now if status == Status.QUEUED else None,
        )
        if not updated:
            return None
        distribution.refresh_from_db()
        transition_record(distribution=distribution, action=Action.CONFIRMED, actor=actor)
        if status == Status.QUEUED:
            transaction.on_commit(distribution_queue_kick)
        else:
            send_on_commit(Event.APPROVAL_NEEDED, distribution)
    return status


def distribution_approve(*, distribution: DistributionRequest, actor: Actor) -> bool:
    """Queues a request awaiting approval. False if it is not awaiting approval (a second click).

    Four eyes: the approver needs the approve permission and is never the requester."""
    if distribution.requested_by_id is not None and distribution.requested_by_id == actor.user_id:
        raise PermissionDenied(_("Nobody approves their own request: another approver must."))
    if not distribution.may_be_approved_by(actor.user):
        raise PermissionDenied(_("Approving needs the permission to approve distribution requests."))
    now = timezone.now()
    with transaction.atomic():
        updated = DistributionRequest.objects.filter(pk=distribution.pk, status=Status.AWAITING_APPROVAL).update(
            status=Status.QUEUED, approved_by=actor.user, approved_at=now, queued_at=now
        )
        if updated:
            distribution.refresh_from_db()
            transition_record(distribution=distribution, action=Action.APPROVED, actor=actor)
            transaction.on_commit(distribution_queue_kick)
    return bool(updated)


def distribution_reject(*, distribution: DistributionRequest, actor: Actor, reason: str) -> bool:
    """Turns down a request awaiting approval, saying why; only someone who may approve it may.
    False if it was no longer awaiting approval."""
    if not distribution.may_be_approved_by(actor.user):
        raise PermissionDenied(_("Only another user with the approve permission may reject this request."))
    rejected = _close(distribution, Status.AWAITING_APPROVAL, Status.CANCELLED, Action.REJECTED, actor, reason=reason)
    if rejected:
        send_on_commit(Event.CANCELLED, distribution)
    return rejected


def distribution_discard(*, distribution: DistributionRequest, actor: Actor) -> bool:
    """Discards a draft (only its requester may). False if it was no longer a draft. A draft was never
    announced, so nobody needs telling."""
    if not distribution.may_be_confirmed_by(actor.user):
        raise PermissionDenied(_("Only the person who drafted a request may confirm or discard it."))
    return _close(distribution, Status.DRAFT, Status.DISCARDED, Action.DISCARDED, actor)


@transaction.atomic
def _close(distribution, current, status, action, actor, **details) -> bool:
    """Ends a request that never ran (`current` → `status`) by a conditional update; False if it had moved on."""
    now = timezone.now()
    updated = DistributionRequest.objects.filter(pk=distribution.pk, status=current).update(
        status=status, cancelled_by=actor.user, cancelled_at=now, finished_at=now
    )
    if updated:
        distribution.refresh_from_db()
        transition_record(distribution=distribution, action=action, actor=actor, **details)
    return bool(updated)


def distribution_submit(*, distribution: DistributionRequest, actor: Actor, audience=None) -> DistributionRequest:
    """Drafts and confirms in one step, for callers with no one to show a preview to (the command line)."""
    distribution_draft(distribution=distribution, actor=actor, audience=audience)
    distribution_confirm(distribution=distribution, actor=actor)
    return distribution
