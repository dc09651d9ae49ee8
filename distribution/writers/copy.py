import io
import struct
from datetime import UTC, datetime, timedelta

from django.db import connection

from distribution.failpoints import failpoint
from distribution.models import IssuedCoupon

from .base import Written, new_holders, reissue

COLUMNS = ("coupon_id", "user_id", "request_id", "issued_at", "expires_at")
# A Coupon API call's coupons carry the call instead of a request, in the same place of the stream.
API_COLUMNS = ("coupon_id", "user_id", "issue_call_id", "issued_at", "expires_at")
# PostgreSQL's binary COPY format: a header, then per row a field count and (length, value) pairs.
HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_int8 = struct.Struct(">q").pack


class CopyWriter:
    """PostgreSQL COPY FROM STDIN (binary) through psycopg2: the fastest way in, but it has no ON CONFLICT.

    Exactness comes from `new_holders`: only ids that hold no coupon yet are copied. Should a row
    collide anyway, COPY fails whole and the chunk's transaction rolls back with the request's
    progress, so a retry repeats the chunk exactly.
    """

    name = "copy"
    remote = False  # rows in this database: they roll back with the chunk's transaction

    # Ids per re-issue UPDATE when the chunk is not dense (see base.reissue): large enough that
    # statements cost little, small enough that the crash tests can stop the worker between two of them.
    reissue_batch = 25_000

    def write(self, chunk, limit=None):
        holders = new_holders(chunk, limit)
        if holders.fresh:
            self._copy(copy_payload(chunk, holders.fresh), API_COLUMNS if chunk.issue_call_id else COLUMNS)
        reissued = 0
        if holders.revoked:
            reissued = reissue(chunk, holders, update=_update_any, batch_size=self.reissue_batch)
        return Written(issued=len(holders.fresh), reissued=reissued)

    def _copy(self, payload, columns):
        with connection.cursor() as cursor:
            # The chunk's commit need not wait for its WAL flush: a crash can then lose the last
            # chunks, but each together with its own progress record, so a resume redoes exactly
            # those. Only this transaction is affected (SET LOCAL).
            cursor.execute("SET LOCAL synchronous_commit = off")
            copy_stream(cursor, _Stream(payload), columns=columns)


def _update_any(chunk, user_ids):
    """One UPDATE for a batch of ids, passed as a single array parameter (`= ANY`), which PostgreSQL
    answers with one primary-key probe per id; the array travels as one text literal, not one
    parameter per id."""
    table = connection.ops.quote_name(IssuedCoupon._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET deleted_at = NULL, request_id = %s, issue_call_id = %s, issued_at = %s, "
            "expires_at = %s WHERE coupon_id = %s AND user_id = ANY(%s::bigint[]) AND deleted_at IS NOT NULL "
            "AND used_at IS NULL",
            [
                chunk.distribution_id,
                chunk.issue_call_id,
                chunk.issued_at,
                chunk.expires_at,
                chunk.coupon_id,
                "{" + ",".join(map(str, user_ids)) + "}",
            ],
        )
        return cursor.rowcount


def copy_stream(cursor, stream, *, table=None, columns=COLUMNS):
    """COPYs a binary payload (see copy_payload) from a file-like object into the bulk table (or `table`,
    one shaped like it: the benchmark compares a partitioned one)."""
    table = connection.ops.quote_name(table or IssuedCoupon._meta.db_table)
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT binary)"
    # Django wraps execute and fetch in its own error classes, not copy_expert: without this a connection cut
    # mid-COPY is a bare psycopg2 error, which failures.py cannot tell from any other (a retry, not a failure).
    with connection.wrap_database_errors:
        cursor.copy_expert(sql, stream, size=1 << 20)


class _Stream(io.BytesIO):
    """The payload as psycopg2 reads it, a megabyte at a time, with a crash-test point inside the COPY."""

    def read(self, size=-1):
        failpoint("copy:streaming")
        return super().read(size)


def copy_payload(chunk, user_ids):
    """The binary COPY stream for a chunk. Binary spares PostgreSQL parsing two timestamps and three
    integers per row (about a third of its COPY time); only the user id differs between rows, so
    the rest is packed once and one C-level join does the rest."""
    before = struct.pack(">hiq", len(COLUMNS), 8, chunk.coupon_id) + struct.pack(">i", 8)
    provenance = chunk.issue_call_id or chunk.distribution_id
    after = struct.pack(">iqiqiq", 8, provenance, 8, _micros(chunk.issued_at), 8, _micros(chunk.expires_at))
    return HEADER + before + (after + before).join(map(_int8, user_ids)) + after + TRAILER


def _micros(moment):
    return (moment - POSTGRES_EPOCH) // timedelta(microseconds=1)
