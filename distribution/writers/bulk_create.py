from distribution.models import IssuedCoupon

from .base import Written, new_holders, reissue


class BulkCreateWriter:
    """Django's bulk_create in large batches: portable, and what runs on SQLite."""

    name = "bulk_create"
    remote = False  # rows in this database: they roll back with the chunk's transaction
    batch_size = 5_000

    def write(self, chunk, limit=None):
        holders = new_holders(chunk, limit)
        IssuedCoupon.objects.bulk_create(
            (
                IssuedCoupon(
                    coupon_id=chunk.coupon_id,
                    user_id=user_id,
                    distribution_id=chunk.distribution_id,
                    issue_call_id=chunk.issue_call_id,
                    issued_at=chunk.issued_at,
                    expires_at=chunk.expires_at,
                )
                for user_id in holders.fresh
            ),
            batch_size=self.batch_size,
        )
        reissued = reissue(chunk, holders) if holders.revoked else 0
        return Written(issued=len(holders.fresh), reissued=reissued)
