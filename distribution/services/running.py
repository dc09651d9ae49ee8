"""The worker's run of one request: chunk by chunk, each chunk and its progress in one transaction."""

import contextlib
import logging

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from .. import lifecycle
from ..actors import WORKER
from ..failpoints import failpoint
from ..failures import RunStopped, failure_of
from ..holdout import holdout_split
from ..models import DistributionRequest
from ..prefetch import Prefetched
from ..sources import get_source
from ..throttle import Pacer
from ..timing import rate, stopwatch
from ..writers import BudgetExceeded, Chunk, WriteFailed, Written, get_writer
from .audience import AudienceChanged, audience_grew_mid_run, audience_verify
from .holdout import held_out_record, landed_prefix
from .moves import distribution_move
from .retrying import distribution_retry_later, failure_details, failure_fields

logger = logging.getLogger(__name__)
Status = DistributionRequest.Status
Move = lifecycle.Move


class ClaimLost(Exception):
    """The request is no longer this run's to write: it was cancelled, or taken over after a missed heartbeat."""


class Stopping(Exception):
    """The worker is shutting down (SIGTERM): the run ends after its current chunk and is queued again."""


class StopNow(BaseException):
    """Raised by the worker's SIGTERM handler while the run only waits (on the warehouse's answer, the next ids),
    never inside a chunk: a BaseException, so that no `except Exception` on the way turns it into a failure."""


class DistributionError(Exception):
    """A reason to stop a run that the request's error field should state as it is."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def distribution_run(*, distribution: DistributionRequest, stop=None):
    """Issues the request's coupons chunk by chunk, then records how it ended."""
    failpoint("run:start")
    with stopwatch(since=distribution.elapsed_seconds) as watch:
        try:
            with _interrupts(stop, allowed=True):
                _issue_all(distribution, watch, stop)
        except ClaimLost:
            logger.warning("distribution request %s was cancelled or taken over; this run stops", distribution.pk)
            return
        except (Stopping, StopNow):
            distribution_release(distribution=distribution, elapsed=watch.elapsed)
            return
        except AudienceChanged as exc:
            distribution_stop_audience_changed(distribution=distribution, reason=exc, elapsed=watch.elapsed)
            return
        except Exception as exc:
            if stop is not None and stop.is_set() and not isinstance(exc, RunStopped):
                # A stop that interrupted a wait inside a library (DuckDB turns the handler's StopNow into its
                # own "Query interrupted") is still a stop, not the run's failure: the request resumes.
                logger.warning("distribution request %s: stopped during %r", distribution.pk, exc)
                _drop_broken_connection()
                distribution_release(distribution=distribution, elapsed=watch.elapsed)
                return
            logger.exception("distribution request %s failed", distribution.pk)
            error = exc
        else:
            error = None
    if error is None:
        distribution_succeed(distribution=distribution, elapsed=watch.elapsed)
    else:
        distribution_fail(distribution=distribution, error=error, elapsed=watch.elapsed)


def _interrupts(stop, *, allowed):
    """Whether a stop may end the run at once (StopNow) instead of at the next chunk boundary."""
    return stop.interrupts(allowed) if hasattr(stop, "interrupts") else contextlib.nullcontext()


def _issue_all(distribution, watch, stop):
    coupon = distribution.coupon
    coupon.refresh_from_db()
    if not coupon.is_active or coupon.is_expired():
        raise RunStopped("coupon_unusable", code=coupon.code)
    source = get_source(distribution.source)
    target = source.resolve(distribution.table, distribution.column)
    writer = get_writer()
    batches = source.read(target, after=distribution.checkpoint, batch_size=settings.DISTRIBUTION_CHUNK_SIZE)
    with Prefetched(batches) as prefetched, Pacer(distribution=distribution) as pacer:
        # The id stream starts on its thread while the audience is checked here, so the check's scan
        # overlaps the stream's; on a mismatch leaving the block cancels the stream, nothing written.
        audience_verify(distribution=distribution, source=source, target=target)
        for user_ids in pacer.chunks(prefetched):
            failpoint("read:batch")
            if stop is not None and stop.is_set():  # a stop that came before this chunk: nothing more written
                raise Stopping()
            with _interrupts(stop, allowed=False):  # a chunk and its progress land together or not at all
                written = distribution_issue_chunk(
                    distribution=distribution, writer=writer, user_ids=user_ids, elapsed=watch.elapsed
                )
            if stop is not None and stop.is_set():
                raise Stopping()
            # Yields to the members (distribution/throttle.py); re-issued rows are the run's own UPDATEs.
            pacer.wait_between_chunks(rows=len(user_ids), updated=written.reissued)
    failpoint("run:read-all")


def distribution_issue_chunk(*, distribution: DistributionRequest, writer, user_ids: list[int], elapsed: float):
    """Writes one chunk and its progress in one transaction: both land or neither does; returns what was written.

    Raises ClaimLost (writing nothing) when the request is no longer this run's: cancelled or taken over.
    A writer that cannot roll back (a remote service) may land only part of the chunk: that part is
    recorded, exactly, and then the run stops with the writer's reason."""
    now = timezone.now()
    coupon = distribution.coupon
    kept, held_out = holdout_split(coupon, user_ids)  # the control group is read, never issued
    chunk = Chunk(coupon.pk, distribution.pk, kept, now, coupon.expiry_for(now))
    failed, landed = None, writer.remote
    with transaction.atomic():
        coupon.lock_for_issuing()
        if landed and distribution.exceeds_audience(read=len(user_ids)):
            raise audience_grew_mid_run(distribution, read=len(user_ids))  # checked first: a service keeps what it got
        try:
            written = writer.write(chunk, limit=coupon.budget_left()) if kept else Written(issued=0)
        except BudgetExceeded as exc:
            raise RunStopped("budget_reached", new=exc.args[0], left=exc.args[1]) from exc
        except WriteFailed as exc:
            failed, written = exc, exc.written
            user_ids, held_out = landed_prefix(user_ids, held_out, kept, exc.done)
        held_out_record(distribution=distribution, user_ids=held_out, now=now)
        failpoint("chunk:written")
        if user_ids and not distribution.record_chunk(
            read=len(user_ids),
            written=written,
            last_id=user_ids[-1],
            elapsed=elapsed,
            landed=landed,
            held_out=len(held_out),
        ):
            if distribution.exceeds_audience(read=len(user_ids)):
                raise audience_grew_mid_run(distribution, read=len(user_ids))  # the chunk rolls back
            raise ClaimLost()
        failpoint("chunk:recorded")
    failpoint("chunk:committed")
    if landed and not DistributionRequest.objects.filter(pk=distribution.pk, status=Status.RUNNING).exists():
        raise ClaimLost()  # cancelled meanwhile: what landed is counted, nothing more is sent
    if failed is not None:
        raise DistributionError(failed.message) from failed  # failures.py reads why from the cause
    return written


def distribution_succeed(*, distribution: DistributionRequest, elapsed: float):
    _finish(distribution, Move.SUCCEEDED, elapsed, error_message="")


def distribution_fail(*, distribution: DistributionRequest, error: Exception, elapsed: float):
    """Ends the run as failed, or, for a transient reason with retries left, queues it again for later."""
    _drop_broken_connection()
    failure = failure_of(error)
    if distribution_retry_later(distribution=distribution, failure=failure, elapsed=elapsed):
        return
    _finish(distribution, Move.FAILED, elapsed, error_message=failure.text(), failure=failure)


def distribution_release(*, distribution: DistributionRequest, elapsed: float):
    """Puts a run stopped by a shutdown back in the queue, first in line: the next start resumes it."""
    if _finish(distribution, Move.STOPPED, elapsed, error_message="", finished=False):
        logger.warning(
            "distribution request %s: the worker is stopping; queued again after its checkpoint", distribution.pk
        )


def _drop_broken_connection():
    """The error may have been the database connection itself (terminated, server restarted): drop a
    broken one so that recording the failure opens a new one. Should that fail too, the request stays
    `running` until its heartbeat is stale and the watchdog queues it again."""
    if connection.connection is not None and not connection.in_atomic_block and not connection.is_usable():
        connection.close()


def distribution_stop_audience_changed(*, distribution: DistributionRequest, reason: AudienceChanged, elapsed: float):
    """Ends a run whose audience is not the confirmed one: `audience_changed`, with the reason, until a
    person previews it again (distribution_preview_again)."""
    _finish(distribution, Move.AUDIENCE_CHANGED, elapsed, error_message=reason.message, failure=reason.failure)


@transaction.atomic
def _finish(distribution, action, elapsed, *, error_message, finished=True, details=None, failure=None) -> bool:
    """Records how this run ended; False (changing nothing) when the run had lost its claim meanwhile (the
    fence: the run's own attempt)."""
    read = DistributionRequest.objects.get(pk=distribution.pk).read_count
    fields = {
        "finished_at": timezone.now() if finished else None,
        "elapsed_seconds": elapsed,
        "rows_per_second": rate(read, elapsed),
        "error_message": error_message,
        **failure_fields(failure),
    }
    facts = {**({"error": error_message} if error_message else {}), **failure_details(failure), **(details or {})}
    ended = distribution_move(
        distribution=distribution,
        action=action,
        actor=WORKER,
        fields=fields,
        where=Q(attempts=distribution.attempts),
        details=facts,
    )
    failpoint("finish:recorded")  # inside this transaction: a crash here rolls the move back
    return ended
