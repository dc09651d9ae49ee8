"""The control group's records: held-out members written with their chunk, conversions imported later."""

import struct

from django.db import connection, transaction
from django.utils import timezone

from ..models import Coupon, HeldOutMember
from ..sources import get_source
from ..writers.copy import HEADER, TRAILER, _int8, _micros, _Stream, copy_stream

COLUMNS = ("request_id", "user_id", "coupon_id", "held_out_at")


def held_out_record(*, distribution, user_ids: list[int], now):
    """Records a chunk's held-out members (ascending ids) in the chunk's transaction: a crash loses both
    or neither. COPY on PostgreSQL, as for the coupons: at 10 % of 10,000,000 that is 1,000,000 rows."""
    if not user_ids:
        return
    if connection.vendor != "postgresql":
        HeldOutMember.objects.bulk_create(
            HeldOutMember(distribution=distribution, user_id=i, coupon_id=distribution.coupon_id, held_out_at=now)
            for i in user_ids
        )
        return
    with connection.cursor() as cursor:
        payload = _payload(distribution, user_ids, now)
        copy_stream(cursor, _Stream(payload), table=HeldOutMember._meta.db_table, columns=COLUMNS)


def _payload(distribution, user_ids, now):
    """PostgreSQL's binary COPY rows (see writers/copy.py): only the member id differs between rows."""
    before = struct.pack(">hiq", len(COLUMNS), 8, distribution.pk) + struct.pack(">i", 8)
    after = struct.pack(">iqiq", 8, distribution.coupon_id, 8, _micros(now))
    return HEADER + before + (after + before).join(map(_int8, user_ids)) + after + TRAILER


def held_out_import_conversions(*, coupon: Coupon, source: str, table: str, column: str, batch_size=50_000) -> int:
    """Marks the coupon's held-out members found in a warehouse table of conversions (members who
    ordered in the campaign's window, as an analyst chose it) as converted; returns how many rows it
    marked. Importing the same table again marks nothing twice (`converted_at` is kept)."""
    reader = get_source(source)
    target = reader.resolve(table, column)
    requests = list(coupon.distributions.filter(held_out_count__gt=0).values_list("pk", flat=True))
    marked, now = 0, timezone.now()
    if not requests:
        return 0
    for user_ids in reader.read(target, after=None, batch_size=batch_size):
        with transaction.atomic():
            marked += HeldOutMember.objects.filter(
                distribution_id__in=requests, user_id__in=user_ids, converted_at__isnull=True
            ).update(converted_at=now)
    return marked


def landed_prefix(user_ids, held_out, kept, done):
    """(ids, held-out ids) of a chunk up to where a remote writer stopped: the first `done` kept ids
    landed, so the chunk counts as read up to the first kept id that did not."""
    if done >= len(kept):
        return user_ids, held_out
    boundary = kept[done]
    return [i for i in user_ids if i < boundary], [i for i in held_out if i < boundary]
