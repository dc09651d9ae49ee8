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


def id_block_query(target, after, block=BLOCK):
    """Valid ids (positive) as (block, ascending distinct ids) rows in block order: together the same
    ascending stream as base.id_query, so a run resumes after its checkpoint in the same way."""
    ids = f"CAST({target.quoted_column} AS BIGINT)"
    where = f"{target.quoted_column} > 0"
    params = []
    if after is not None:
        where += f" AND {target.quoted_column} > ?"
        params.append(after)
    sql = (
        f"SELECT user_id / {int(block)}, array_sort(array_distinct(array_agg(user_id))) "
        f"FROM (SELECT {ids} AS user_id FROM {target.quoted_table} WHERE {where}) "
        f"GROUP BY user_id / {int(block)} ORDER BY user_id / {int(block)}"
    )
    return sql, params


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
