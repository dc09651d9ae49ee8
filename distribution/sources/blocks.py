"""Reading a Trino audience as arrays of ids, one row per block of the key range.

One row per id made the client pay per row: an HTTP page decoded into millions of one-element lists,
then `fetchone` and `fetchmany` stepping through them one by one in Python (12–13 s of the worker's
CPU per 10,000,000 ids, more than the COPY of the same ids). Grouped by `user_id / BLOCK`, Trino
hands over one sorted, duplicate-free array per block, and the client's JSON decoder builds each
array's ints at C speed (about 1.3 s per 10,000,000). See docs/benchmarks.md, "A faster reader".
"""

from collections.abc import Iterable, Iterator

# Ids per block of the key range: at most this many ids in one row (about 0.7 MB of JSON when dense),
# and few enough rows (one per 65,536 of the id range) that the per-row cost vanishes. Equal ids fall
# into one block, so dropping duplicates inside each block drops them all.
BLOCK = 65_536
# A large key range is read in slices, one query each, the next one running while the one before is written:
# one query over the whole range hands over its first row only once it has aggregated every id (its ORDER
# BY), about 10 s for 10,000,000, with PostgreSQL idle meanwhile (docs/reader.md). Each slice scans the
# table again, so a table of fewer rows than SLICED_FROM is read in one query (its first row comes in
# about as long as one slice's would), and the slices double in size: about six queries for any size.
SLICED_FROM = 2_000_000
FIRST_SLICE_SHARE = 32
LARGEST_SLICE_SHARE = 2


def id_block_query(target, after, block=BLOCK, bounds=None):
    """Valid ids (positive) as (block, ascending distinct ids) rows in block order: together the same
    ascending stream as base.id_query, so a run resumes after its checkpoint in the same way. `bounds`
    (first, last) keeps the ids first <= id <= last: one slice of the key range."""
    ids = f"CAST({target.quoted_column} AS BIGINT)"
    where, params = _valid_after(target, after)
    if bounds is not None:
        where += f" AND {target.quoted_column} BETWEEN ? AND ?"
        params += list(bounds)
    sql = (
        f"SELECT user_id / {int(block)}, array_sort(array_distinct(array_agg(user_id))) "
        f"FROM (SELECT {ids} AS user_id FROM {target.quoted_table} WHERE {where}) "
        f"GROUP BY user_id / {int(block)} ORDER BY user_id / {int(block)}"
    )
    return sql, params


def key_range_query(target, after):
    """The smallest and largest valid id after the checkpoint and the rows holding one (nulls and 0 when there
    is none): one scan, and for most connectors an answer from the table's statistics."""
    where, params = _valid_after(target, after)
    column = target.quoted_column
    return f"SELECT min({column}), max({column}), count(*) FROM {target.quoted_table} WHERE {where}", params


def _valid_after(target, after):
    where, params = f"{target.quoted_column} > 0", []
    if after is not None:
        where += f" AND {target.quoted_column} > ?"
        params.append(after)
    return where, params


def slice_bounds(low, high, rows, block=BLOCK):
    """Inclusive (first, last) id ranges covering low..high, cut at block edges (inclusive, so that the last
    one ends at `high` itself, even at the largest bigint): one for fewer than SLICED_FROM rows; else the
    first holds 1/FIRST_SLICE_SHARE of the blocks, each next one twice the one before, up to
    1/LARGEST_SLICE_SHARE of them. The first slice's rows come in about a second, so the writing starts
    while Trino aggregates the rest; aggregating twice the ids takes Trino about as long as writing the
    slice before takes PostgreSQL, so the next slice is ready in time."""
    first, last = low // block, high // block
    if rows < SLICED_FROM:
        return [(low, high)]
    blocks = last - first + 1
    size, largest = max(1, blocks // FIRST_SLICE_SHARE), max(1, blocks // LARGEST_SLICE_SHARE)
    bounds = []
    while first <= last:
        end = min(last + 1, first + size)
        bounds.append((max(low, first * block), min(high, end * block - 1)))
        first, size = end, min(largest, size * 2)
    return bounds


def block_rows(cursor, rows_per_fetch=8) -> Iterator[list[int]]:
    """The id arrays of an executed id_block_query, in order."""
    while rows := cursor.fetchmany(rows_per_fetch):
        for _, ids in rows:
            yield ids


def rebatch(blocks: Iterable[list[int]], size) -> Iterator[list[int]]:
    """Batches of exactly `size` ids (the last one shorter) from arrays of any length, order kept."""
    pending = []
    for ids in blocks:
        pending += ids
        while len(pending) >= size:
            yield pending[:size]
            del pending[:size]
    if pending:
        yield pending
