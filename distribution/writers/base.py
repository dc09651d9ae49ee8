"""What every writer shares: a chunk to write, and who in it already holds the coupon."""

from dataclasses import dataclass
from datetime import datetime

from distribution.models import IssuedCoupon


@dataclass(frozen=True)
class Chunk:
    """Ascending, distinct user ids to receive one coupon, all stamped with one issue time.

    Its provenance is a distribution request, or a Coupon API call (`issue_call_id`, with
    `distribution_id` None)."""

    coupon_id: int
    distribution_id: int | None
    user_ids: list[int]
    issued_at: datetime
    expires_at: datetime
    issue_call_id: int | None = None


@dataclass(frozen=True)
class Written:
    """What a writer did with a chunk: coupons issued (new rows); the rest of the chunk already held one."""

    issued: int
    reissued: int = 0


class BudgetExceeded(Exception):
    pass


class WriteFailed(Exception):
    """The first `done` ids of the chunk were written (`written` says how) before the rest failed: a
    writer that cannot roll back what it did (a remote service) says so, and the run records exactly
    that much before it stops."""

    def __init__(self, message, written, done):
        super().__init__(message)
        self.message, self.written, self.done = message, written, done


def new_holders(chunk, limit=None):
    """The ids in the chunk that do not hold the coupon yet.

    The chunk is sorted, so one range scan of the primary key (coupon, user_id) finds every
    existing holder, whatever their number; rows revoked earlier still count as held. Raises
    BudgetExceeded, writing nothing, when more than `limit` would be issued.
    """
    fresh = _without_holders(chunk)
    if limit is not None and len(fresh) > limit:
        raise BudgetExceeded(len(fresh), limit)
    return fresh


def _without_holders(chunk):
    held = set(
        IssuedCoupon.objects.filter(
            coupon_id=chunk.coupon_id, user_id__gte=chunk.user_ids[0], user_id__lte=chunk.user_ids[-1]
        ).values_list("user_id", flat=True)
    )
    if not held:
        return chunk.user_ids
    return [user_id for user_id in chunk.user_ids if user_id not in held]
