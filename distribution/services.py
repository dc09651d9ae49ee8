"""Every write of the distribution app: submitting, claiming, running and finishing requests."""

import logging
import time

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from .models import DistributionRequest
from .prefetch import Prefetched
from .signals import (
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


class DistributionError(Exception):
    """A reason to stop a run that the request's error field should state as it is."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


# --- Submitting --------------------------------------------------------------------------------


def distribution_request_submit(*, request: DistributionRequest, requested_by=None, audience=None) -> DistributionRequest:
    """Checks an unsaved request's audience against its source, saves it and queues it.

    The table and column are stored as the source's metadata spells them, with the number of
    distinct targets. `audience` is check_audience's answer when the caller (the admin form) has
    just asked it. Raises ValidationError keyed by form field; nothing is queued then.
    """
    if not request.coupon.is_active:
        raise ValidationError({"coupon": _("Coupon “%(code)s” is not active.") % {"code": request.coupon.code}})
    target, request.target_count = audience or check_audience(request.source, request.table, request.column)
    _check_budget(request.coupon, request.target_count)
    request.table, request.column = target.display_name, target.column
    request.requested_by = requested_by
    request.status = Status.QUEUED
    request.full_clean()
    with transaction.atomic():
        request.save()
        transaction.on_commit(distribution_queue_kick)
    return request


def check_audience(source_name, table, column):
    """(target, number of distinct ids) for a source, table and column; ValidationError if wrong or empty."""
    try:
        source = get_source(source_name)
        target = source.resolve(table, column)
        count = source.count(target)
    except SourceError as exc:
        raise ValidationError({exc.field or "table": exc.message}) from exc
    if not count:
        raise ValidationError({"table": _("%(table)s has no user ids: every value of %(column)s is empty.")
                               % {"table": target.display_name, "column": target.column}})
    return target, count


def _check_budget(coupon, targets):
    left = coupon.budget_left()
    if left is not None and targets > left:
        raise ValidationError({"coupon": _(
            "Coupon “%(code)s” has %(left)s coupons left in its budget, and this audience has up to %(targets)s "
            "members.") % {"code": coupon.code, "left": f"{left:,}", "targets": f"{targets:,}"}})


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


def distribution_cancel(*, request: DistributionRequest, cancelled_by=None) -> bool:
    """Cancels a queued or running request. A running one stops within one chunk: its worker's next
    progress record finds the request no longer running and rolls that chunk back, so the counts
    stay exact and what was issued before stays issued."""
    now = timezone.now()
    with transaction.atomic():
        updated = DistributionRequest.objects.filter(
            pk=request.pk, status__in=[Status.QUEUED, Status.RUNNING]
        ).update(status=Status.CANCELLED, cancelled_by=cancelled_by, cancelled_at=now, finished_at=now)
        if updated:
            request.refresh_from_db()
            _audit(request, cancelled_by, _("Cancelled."))
            send_on_commit(distribution_cancelled, request)
    return bool(updated)


def distribution_revoke_preview(*, request: DistributionRequest) -> dict:
    """What revoking would do: coupons still unused (revoked) and already used (kept)."""
    coupons = request.coupons_issued().filter(deleted_at__isnull=True)
    used = coupons.filter(used_at__isnull=False).count()
    return {"to_revoke": coupons.count() - used, "used": used}


def distribution_revoke(*, request: DistributionRequest, revoked_by=None) -> int | None:
    """Soft-deletes every coupon of a succeeded or cancelled request not used yet; None if not revocable.

    Idempotent: a request is revoked once; a second call changes nothing. Nothing is hard-deleted.
    """
    now = timezone.now()
    with transaction.atomic():
        claimed = DistributionRequest.objects.filter(
            pk=request.pk, status__in=[Status.SUCCEEDED, Status.CANCELLED]
        ).update(status=Status.REVOKED, revoked_by=revoked_by, revoked_at=now)
        if not claimed:
            return None
        revoked = request.coupons_issued().filter(used_at__isnull=True, deleted_at__isnull=True).update(deleted_at=now)
        DistributionRequest.objects.filter(pk=request.pk).update(revoked_count=revoked)
        request.refresh_from_db()
        _audit(request, revoked_by, _("Revoked %(count)s unused coupons.") % {"count": f"{revoked:,}"})
        send_on_commit(distribution_revoked, request)
    return revoked


# --- The worker ----------------------------------------------------------------------------------


def distribution_run_queue():
    """Runs queued requests one at a time, oldest first, until none is left or another runs."""
    distribution_requeue_stale()
    while (request := distribution_claim_next()) is not None:
        distribution_run(request)


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


def distribution_run(request: DistributionRequest):
    """Issues the request's coupons chunk by chunk, then records how it ended."""
    with stopwatch() as watch:
        try:
            _issue_all(request)
        except ClaimLost:
            logger.warning("distribution request %s was cancelled or taken over; this run stops", request.pk)
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


def _issue_all(request):
    request.coupon.refresh_from_db()
    if not request.coupon.is_active:
        raise DistributionError(_("Coupon “%(code)s” was deactivated after the request was queued; nothing more "
                                  "was issued.") % {"code": request.coupon.code})
    source = get_source(request.source)
    target = source.resolve(request.table, request.column)
    writer = get_writer()
    batches = source.read(target, after=request.checkpoint, batch_size=settings.DISTRIBUTION_CHUNK_SIZE)
    with Prefetched(batches) as prefetched:
        for user_ids in prefetched:
            _issue_chunk(request, writer, user_ids)
            if settings.DISTRIBUTION_CHUNK_PAUSE:
                time.sleep(settings.DISTRIBUTION_CHUNK_PAUSE)


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
        if not request.record_chunk(read=len(user_ids), issued=issued, last_id=user_ids[-1], now=now):
            raise ClaimLost()


def distribution_succeed(*, request: DistributionRequest, elapsed: float):
    _finish(request, Status.SUCCEEDED, elapsed, error_message="")
    send_on_commit(distribution_succeeded, request)


def distribution_fail(*, request: DistributionRequest, error: Exception, elapsed: float):
    message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
    _finish(request, Status.FAILED, elapsed, error_message=message)
    send_on_commit(distribution_failed, request)


@transaction.atomic
def _finish(request, status, elapsed, *, error_message):
    current = DistributionRequest.objects.select_for_update().get(pk=request.pk)
    total = current.elapsed_seconds + elapsed
    DistributionRequest.objects.filter(pk=request.pk, status=Status.RUNNING, attempts=request.attempts).update(
        status=status,
        finished_at=timezone.now(),
        elapsed_seconds=total,
        rows_per_second=rate(current.read_count, total),
        error_message=error_message,
    )
    request.refresh_from_db()
