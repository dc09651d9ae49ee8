"""Revoking a request's coupons: soft deletes, in the background, one key range per transaction."""

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .. import lifecycle
from ..actors import WORKER, Actor
from ..models import DistributionRequest, IssuedCoupon
from .moves import distribution_move

Status = DistributionRequest.Status
Move = lifecycle.Move


def distribution_revoke(*, distribution: DistributionRequest, actor: Actor) -> bool:
    """Starts revoking the coupons of a finished request that gave some (issued or re-issued: succeeded,
    failed, cancelled or stopped by a changed audience); False if it is not revocable (another status, or
    it gave nothing).

    The page returns at once: the worker soft-deletes the unused coupons chunk by chunk (10 million
    rows are one long UPDATE otherwise, longer than a web request may last). Idempotent: a request
    is revoked once; a second call changes nothing. Nothing is hard-deleted.
    """
    fields = {"revoked_by": actor.user, "revoked_at": timezone.now(), "revoked_count": 0}
    return distribution_move(distribution=distribution, action=Move.REVOKE_STARTED, actor=actor, fields=fields)


def distribution_revoke_run(*, distribution: DistributionRequest, chunk_size=None, stop=None):
    """Soft-deletes the request's unused coupons one key range at a time, counting each range in the
    range's own transaction, so a crash or a stop resumes (by running this again) with exact counts."""
    size = chunk_size or settings.DISTRIBUTION_CHUNK_SIZE
    for low, high in _key_ranges(distribution.coupon_id, size):
        if stop is not None and stop.is_set():
            return  # still `revoking`: the next start goes on from where this left off
        with transaction.atomic():
            rows = distribution.coupons_issued().filter(used_at__isnull=True, deleted_at__isnull=True, user_id__gt=low)
            revoked = (rows.filter(user_id__lte=high) if high is not None else rows).update(
                deleted_at=distribution.revoked_at
            )
            DistributionRequest.objects.filter(pk=distribution.pk, status=Status.REVOKING).update(
                revoked_count=F("revoked_count") + revoked
            )
    distribution_move(distribution=distribution, action=Move.REVOKED, actor=WORKER)


def _key_ranges(coupon_id, size):
    """(low, high] ranges of user ids holding the coupon, `size` rows each; the last one is open."""
    low = 0
    while (
        high := IssuedCoupon.objects.filter(coupon_id=coupon_id, user_id__gt=low)
        .order_by("user_id")
        .values_list("user_id", flat=True)[size - 1 : size]
        .first()
    ) is not None:
        yield low, high
        low = high
    yield low, None
