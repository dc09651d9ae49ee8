"""Every write of the distribution app: submitting, claiming, running and finishing requests."""

import logging
import time

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from .failpoints import failpoint
from .models import DistributionRequest, IssuedCoupon
from .prefetch import Prefetched
from .signals import (
    distribution_approval_needed,
    distribution_cancelled,
    distribution_failed,
    distribution_revoked,
    distribution_started,
    distribution_succeeded,
    send_on_commit,
)
from .sources import SourceError, get_source
from .timing import rate, stopwatch
from .writers import BudgetExceeded, Chunk, get_writer

logger = logging.getLogger(__name__)
Status = DistributionRequest.Status


class ClaimLost(Exception):
    """The request is no longer this run's to write: it was cancelled, or taken over after a missed heartbeat."""


class Stopping(Exception):
    """The worker is shutting down (SIGTERM): the run ends after its current chunk and is queued again."""


class DistributionError(Exception):
    """A reason to stop a run that the request's error field should state as it is."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


# --- Drafting, confirming, approving --------------------------------------------------------------


def distribution_request_draft(*, request: DistributionRequest, requested_by=None, audience=None) -> DistributionRequest:
    """Checks an unsaved request against its source and saves it as a draft with its preview.

    The table and column are stored as the source's metadata spells them. `audience` is
    check_audience's answer when the caller (the admin form) has just asked it. Raises
    ValidationError keyed by form field; nothing is saved then.
    """
    _check_coupon(request.coupon)
    target, profile = audience or check_audience(request.source, request.table, request.column)
    request.table, request.column = target.display_name, target.column
    request.target_count, request.sample_ids = profile.targets, profile.samples
    request.invalid_count, request.duplicate_count = profile.invalid, profile.duplicates
    request.held_count = count_holders(request.coupon, request.source, target, profile.targets)
    _check_budget(request.coupon, request.would_issue)
    request.estimated_seconds = estimate_seconds(request.target_count)
    request.requested_by, request.status = requested_by, Status.DRAFT
    request.full_clean()
    request.save()
    return request


def _check_coupon(coupon):
    if not coupon.is_active:
        raise ValidationError({"coupon": _("Coupon “%(code)s” is not active.") % {"code": coupon.code}})
    if coupon.is_expired():
        raise ValidationError({"coupon": _("Coupon “%(code)s” expired on %(date)s.")
                               % {"code": coupon.code, "date": formats.date_format(coupon.issue_until)}})


def check_audience(source_name, table, column):
    """(target, profile) for a source, table and column; ValidationError if wrong or without valid ids."""
    try:
        source = get_source(source_name)
        target = source.resolve(table, column)
        profile = source.profile(target)
    except SourceError as exc:
        raise ValidationError({exc.field or "table": exc.message}) from exc
    if not profile.targets:
        raise ValidationError({"table": _("%(table)s has no valid user ids: every value of %(column)s is empty, zero "
                                          "or negative.") % {"table": target.display_name, "column": target.column}})
    return target, profile


def count_holders(coupon, source_name, target, targets):
    """Members of the audience who already hold the coupon, or None when too many to look up now."""
    if not coupon.requests.filter(issued_count__gt=0).exists():
        return 0
    if targets > settings.DISTRIBUTION_PREVIEW_HOLDERS_LIMIT:
        return None
    held = 0
    for user_ids in get_source(source_name).read(target, after=None, batch_size=10_000):
        held += IssuedCoupon.objects.filter(coupon_id=coupon.pk, user_id__in=user_ids).count()
    return held


def estimate_seconds(targets):
    """Targets over the median rows/s of the last finished runs; None before anything was measured."""
    rates = sorted(DistributionRequest.objects.filter(
        status__in=[Status.SUCCEEDED, Status.REVOKED], rows_per_second__gt=0, read_count__gte=10_000,
    ).order_by("-finished_at").values_list("rows_per_second", flat=True)[:20])
    return targets / rates[len(rates) // 2] if rates else None


def _check_budget(coupon, would_issue):
    left = coupon.budget_left()
    if left is not None and would_issue > left:
        raise ValidationError({"coupon": _(
            "Coupon “%(code)s” has %(left)s coupons left in its budget, and this request would issue %(count)s.")
            % {"code": coupon.code, "left": f"{left:,}", "count": f"{would_issue:,}"}})


def needs_approval(request: DistributionRequest) -> bool:
    """Above the configured size or value, a second person must approve (four eyes)."""
    coupons, value = settings.DISTRIBUTION_APPROVAL_COUPONS, settings.DISTRIBUTION_APPROVAL_VALUE
    if coupons and request.would_issue > coupons:
        return True
    fixed = request.coupon.discount_kind == request.coupon.DiscountKind.AMOUNT
    return bool(value and fixed and request.would_issue * request.coupon.discount_amount > value)


def distribution_request_confirm(*, request: DistributionRequest, confirmed_by=None) -> str | None:
    """Confirms a draft: queued, or awaiting approval when large. None if it was no longer a draft
    (a second click), so nothing is ever queued twice."""
    _check_coupon(request.coupon)
    _check_budget(request.coupon, request.would_issue)
    status = Status.AWAITING_APPROVAL if needs_approval(request) else Status.QUEUED
    now = timezone.now()
    with transaction.atomic():
        updated = DistributionRequest.objects.filter(pk=request.pk, status=Status.DRAFT).update(
            status=status, confirmed_by=confirmed_by, confirmed_at=now,
            queued_at=now if status == Status.QUEUED else None,
        )
        if not updated:
            return None
        request.refresh_from_db()
        _audit(request, confirmed_by, _("Confirmed."))
        if status == Status.QUEUED:
            transaction.on_commit(distribution_queue_kick)
        else:
            send_on_commit(distribution_approval_needed, request)
    return status


def distribution_request_approve(*, request: DistributionRequest, approved_by) -> bool:
    """Queues a request awaiting approval; its requester can never approve it. False if not awaiting."""
    if request.requested_by_id is not None and request.requested_by_id == approved_by.pk:
        raise ValidationError(_("Nobody approves their own request: another approver must."))
    now = timezone.now()
    with transaction.atomic():
        updated = DistributionRequest.objects.filter(pk=request.pk, status=Status.AWAITING_APPROVAL).update(
            status=Status.QUEUED, approved_by=approved_by, approved_at=now, queued_at=now
        )
        if updated:
            request.refresh_from_db()
            _audit(request, approved_by, _("Approved."))
            transaction.on_commit(distribution_queue_kick)
    return bool(updated)


def distribution_request_submit(*, request: DistributionRequest, requested_by=None, audience=None) -> DistributionRequest:
    """Drafts and confirms in one step, for callers with no one to show a preview to (the command line)."""
    distribution_request_draft(request=request, requested_by=requested_by, audience=audience)
    distribution_request_confirm(request=request, confirmed_by=requested_by)
    return request


def distribution_queue_kick():
    """Wakes the worker; which request runs next is decided by the database, not by this task."""
    async_task("distribution.tasks.run_queue", task_name="distribution-queue", group="distribution")


def distribution_retry(*, request: DistributionRequest, retried_by=None) -> bool:
    """Queues a failed request again; it resumes after its checkpoint."""
    with transaction.atomic():
        updated = DistributionRequest.objects.filter(pk=request.pk, status=Status.FAILED).update(
            status=Status.QUEUED, finished_at=None
        )
        if updated:
            _audit(request, retried_by, _("Retried from the checkpoint."))
            transaction.on_commit(distribution_queue_kick)
    return bool(updated)


def _audit(request, user, message):
    """Writes the transition into the admin's history of the request (who, when, what)."""
    if user is not None:
        LogEntry.objects.log_actions(user.pk, [request], CHANGE, change_message=message, single_object=True)


CANCELLABLE = [Status.DRAFT, Status.AWAITING_APPROVAL, Status.QUEUED, Status.RUNNING]


def distribution_cancel(*, request: DistributionRequest, cancelled_by=None) -> bool:
    """Cancels a request not yet finished (for a draft: discards it; awaiting approval: rejects it).

    A running one stops within one chunk: its worker's next progress record finds the request no
    longer running and rolls that chunk back, so the counts stay exact and what was issued before
    stays issued."""
    now = timezone.now()
    with transaction.atomic():
        was_draft = DistributionRequest.objects.filter(pk=request.pk, status=Status.DRAFT).exists()
        updated = DistributionRequest.objects.filter(pk=request.pk, status__in=CANCELLABLE).update(
            status=Status.CANCELLED, cancelled_by=cancelled_by, cancelled_at=now, finished_at=now
        )
        if updated:
            request.refresh_from_db()
            _audit(request, cancelled_by, _("Discarded.") if was_draft else _("Cancelled."))
            if not was_draft:  # a discarded draft was never announced; nobody needs telling
                send_on_commit(distribution_cancelled, request)
    return bool(updated)


def distribution_revoke_preview(*, request: DistributionRequest) -> dict:
    """What revoking would do: coupons still unused (revoked) and already used (kept)."""
    coupons = request.coupons_issued().filter(deleted_at__isnull=True)
    used = coupons.filter(used_at__isnull=False).count()
    return {"to_revoke": coupons.count() - used, "used": used}


def distribution_revoke(*, request: DistributionRequest, revoked_by=None) -> bool:
    """Starts revoking the coupons of a succeeded or cancelled request; False if it is not revocable.

    The page returns at once: the worker soft-deletes the unused coupons chunk by chunk (10 million
    rows are one long UPDATE otherwise, longer than a web request may last). Idempotent: a request
    is revoked once; a second call changes nothing. Nothing is hard-deleted.
    """
    with transaction.atomic():
        claimed = DistributionRequest.objects.filter(
            pk=request.pk, status__in=[Status.SUCCEEDED, Status.CANCELLED]
        ).update(status=Status.REVOKING, revoked_by=revoked_by, revoked_at=timezone.now(), revoked_count=0)
        if claimed:
            request.refresh_from_db()
            _audit(request, revoked_by, _("Revoke started."))
            transaction.on_commit(distribution_queue_kick)
    return bool(claimed)


def distribution_revoke_run(*, request: DistributionRequest, chunk_size=None, stop=None):
    """Soft-deletes the request's unused coupons one key range at a time, counting each range in the
    range's own transaction, so a crash or a stop resumes (by running this again) with exact counts."""
    size = chunk_size or settings.DISTRIBUTION_CHUNK_SIZE
    for low, high in _key_ranges(request.coupon_id, size):
        if _stopping(stop):
            return  # still `revoking`: the next start goes on from where this left off
        with transaction.atomic():
            rows = request.coupons_issued().filter(used_at__isnull=True, deleted_at__isnull=True, user_id__gt=low)
            revoked = (rows.filter(user_id__lte=high) if high is not None else rows).update(
                deleted_at=request.revoked_at)
            DistributionRequest.objects.filter(pk=request.pk, status=Status.REVOKING).update(
                revoked_count=F("revoked_count") + revoked)
    with transaction.atomic():
        if DistributionRequest.objects.filter(pk=request.pk, status=Status.REVOKING).update(status=Status.REVOKED):
            request.refresh_from_db()
            _audit(request, request.revoked_by, _("Revoked %(count)s unused coupons.")
                   % {"count": f"{request.revoked_count:,}"})
            send_on_commit(distribution_revoked, request)


def _key_ranges(coupon_id, size):
    """(low, high] ranges of user ids holding the coupon, `size` rows each; the last one is open."""
    low = 0
    while (high := IssuedCoupon.objects.filter(coupon_id=coupon_id, user_id__gt=low).order_by("user_id")
           .values_list("user_id", flat=True)[size - 1:size].first()) is not None:
        yield low, high
        low = high
    yield low, None


# --- The worker ----------------------------------------------------------------------------------


def distribution_run_queue(stop=None):
    """Finishes pending revokes, then runs queued requests one at a time, oldest first, until none is
    left, another runs, or `stop` (a threading.Event the worker sets on SIGTERM) is set."""
    for request in DistributionRequest.objects.filter(status=Status.REVOKING):
        distribution_revoke_run(request=request, stop=stop)
    distribution_requeue_stale()
    while not _stopping(stop) and (request := distribution_claim_next()) is not None:
        distribution_run(request, stop=stop)


def _stopping(stop):
    return stop is not None and stop.is_set()


def distribution_requeue_stale(now=None):
    """Queues again the running requests whose worker stopped reporting (it died)."""
    now = now or timezone.now()
    stale = DistributionRequest.objects.stale(now, settings.DISTRIBUTION_STALE_AFTER)
    for request_id in stale.values_list("pk", flat=True):
        if stale.filter(pk=request_id).update(status=Status.QUEUED):
            logger.warning("distribution request %s had no heartbeat; queued again", request_id)


def distribution_claim_next():
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
                )
        except IntegrityError:
            return None  # the partial unique index: another request is running
        if claimed:
            candidate.refresh_from_db()
            send_on_commit(distribution_started, candidate)
            return candidate
    return None


def distribution_run(request: DistributionRequest, stop=None):
    """Issues the request's coupons chunk by chunk, then records how it ended."""
    failpoint("run:start")
    with stopwatch() as watch:
        try:
            _issue_all(request, stop)
        except ClaimLost:
            logger.warning("distribution request %s was cancelled or taken over; this run stops", request.pk)
            return
        except Stopping:
            distribution_release(request=request, elapsed=watch.elapsed)
            return
        except Exception as exc:
            logger.exception("distribution request %s failed", request.pk)
            error = exc
        else:
            error = None
    if error is None:
        distribution_succeed(request=request, elapsed=watch.elapsed)
    else:
        distribution_fail(request=request, error=error, elapsed=watch.elapsed)


def _issue_all(request, stop=None):
    request.coupon.refresh_from_db()
    if not request.coupon.is_active or request.coupon.is_expired():
        raise DistributionError(_("Coupon “%(code)s” was deactivated or expired after the request was queued; "
                                  "nothing more was issued.") % {"code": request.coupon.code})
    source = get_source(request.source)
    target = source.resolve(request.table, request.column)
    writer = get_writer()
    batches = source.read(target, after=request.checkpoint, batch_size=settings.DISTRIBUTION_CHUNK_SIZE)
    with Prefetched(batches) as prefetched:
        for user_ids in prefetched:
            failpoint("read:batch")
            _issue_chunk(request, writer, user_ids)
            if _stopping(stop):
                raise Stopping()
            if settings.DISTRIBUTION_CHUNK_PAUSE:
                time.sleep(settings.DISTRIBUTION_CHUNK_PAUSE)
    failpoint("run:read-all")


def _issue_chunk(request, writer, user_ids):
    """Writes one chunk and its progress in one transaction: both land or neither does."""
    now = timezone.now()
    chunk = Chunk(request.coupon_id, request.pk, user_ids, now, request.coupon.expiry_for(now))
    with transaction.atomic():
        try:
            issued = writer.write(chunk, limit=request.coupon.budget_left())
        except BudgetExceeded as exc:
            raise DistributionError(_("The coupon's budget is reached: %(new)s more coupons would exceed the "
                                      "%(left)s left.") % {"new": f"{exc.args[0]:,}", "left": f"{exc.args[1]:,}"})
        failpoint("chunk:written")
        if not request.record_chunk(read=len(user_ids), issued=issued, last_id=user_ids[-1], now=now):
            raise ClaimLost()
        failpoint("chunk:recorded")
    failpoint("chunk:committed")


def distribution_succeed(*, request: DistributionRequest, elapsed: float):
    _finish(request, Status.SUCCEEDED, elapsed, error_message="")
    send_on_commit(distribution_succeeded, request)


def distribution_fail(*, request: DistributionRequest, error: Exception, elapsed: float):
    message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
    _drop_broken_connection()
    _finish(request, Status.FAILED, elapsed, error_message=message)
    send_on_commit(distribution_failed, request)


def distribution_release(*, request: DistributionRequest, elapsed: float):
    """Puts a run stopped by a shutdown back in the queue, first in line: the next start resumes it."""
    _finish(request, Status.QUEUED, elapsed, error_message="", finished=False)
    logger.warning("distribution request %s: the worker is stopping; queued again after its checkpoint", request.pk)


def _drop_broken_connection():
    """The error may have been the database connection itself (terminated, server restarted): drop a
    broken one so that recording the failure opens a new one. Should that fail too, the request stays
    `running` until its heartbeat is stale and the watchdog queues it again."""
    if connection.connection is not None and not connection.in_atomic_block and not connection.is_usable():
        connection.close()


@transaction.atomic
def _finish(request, status, elapsed, *, error_message, finished=True):
    current = DistributionRequest.objects.select_for_update().get(pk=request.pk)
    total = current.elapsed_seconds + elapsed
    DistributionRequest.objects.filter(pk=request.pk, status=Status.RUNNING, attempts=request.attempts).update(
        status=status,
        finished_at=timezone.now() if finished else None,
        elapsed_seconds=total,
        rows_per_second=rate(current.read_count, total),
        error_message=error_message,
    )
    failpoint("finish:recorded")
    request.refresh_from_db()
