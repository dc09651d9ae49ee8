"""Growth bench: the full path at several sizes, and what each size costs PostgreSQL.

    make bench-scale                                    # 1,000,000, 10,000,000 and 30,000,000
    make bench-scale SIZES=100000,200000                # a smoke run
    .venv/bin/python -m bench.scale --sizes 1000000,10000000 --copy-cap 10000000

For each size, from an empty issued-coupon table: a real worker issues that many coupons (queued → Trino →
COPY) and the bench records the seconds, rows/s, the worker's peak RSS, the table's and its index's size, the
WAL written (pg_current_wal_lsn before and after), then times the admin's request list, request detail, first
page of issued coupons and a coupon + user id look-up with that many coupons in the table. Then COPY into a
plain table against COPY into a table list-partitioned by coupon, twice each (a first coupon into an empty
table, a second coupon beside it), capped at --copy-cap rows a COPY.

Prints Markdown (paste it into docs/scaling.md). Starts its own PostgreSQL and Trino as bench.run does.
Nothing here asserts a time: the numbers are for people to read.
"""

import argparse
from dataclasses import dataclass

from bench.run import running_services, setup_django

PARTITIONED, PLAIN = "bench_issued_partitioned", "bench_issued_plain"


@dataclass
class Size:
    rows: int
    seconds: float
    peak_rss_mb: float
    table_bytes: int
    index_bytes: int
    wal_bytes: int
    pages_ms: dict

    @property
    def rate(self):
        return self.rows / self.seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000000,10000000,30000000", help="comma-separated coupon counts")
    parser.add_argument(
        "--copy-cap",
        type=int,
        default=10_000_000,
        help="rows per COPY in the plain vs partitioned comparison (at most the size)",
    )
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    with running_services() as (pg_url, trino_port):
        setup_django(pg_url, trino_port)
        from django.core.management import call_command

        from bench import measure

        call_command("migrate", verbosity=0)
        measured = [measure_size(size) for size in sizes]
        copies = copy_comparison(min(sizes[-1], args.copy_cap))
        measure.truncate()
        print(markdown(measured, copies))


def measure_size(rows):
    from bench import measure
    from distribution.models import DistributionRequest

    measure.create_audience(rows)
    try:
        before = wal_lsn()
        run = measure.full_path(rows, f"{rows:,}")
        wal = wal_bytes_since(before)
    finally:
        measure.trino(f"DROP TABLE IF EXISTS {measure.audience_table(rows)}")  # Trino's memory, for the next size
    table, index = issued_sizes()
    pages = measure.admin_pages(DistributionRequest.objects.order_by("-pk").first())
    return Size(rows, run.seconds, run.peak_rss_mb, table, index, wal, pages)


def sql(statement, *params):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def wal_lsn():
    return sql("SELECT pg_current_wal_lsn()")[0][0]


def wal_bytes_since(lsn):
    return int(sql("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", lsn)[0][0])


def issued_sizes(table=None):
    """(heap bytes, index bytes) of the issued-coupon table, or of `table` with all its partitions."""
    from distribution.models import IssuedCoupon

    name = table or IssuedCoupon._meta.db_table
    parts = sql("SELECT relid FROM pg_partition_tree(%s::regclass)", name) or [(name,)]  # none: not partitioned
    sizes = [sql("SELECT pg_table_size(%s), pg_indexes_size(%s)", relid, relid)[0] for (relid,) in parts]
    return sum(t for t, _ in sizes), sum(i for _, i in sizes)


# --- COPY: a plain table against one list-partitioned by coupon ----------------------------------------


def copy_comparison(rows):
    """{table: [seconds of the first coupon's COPY, seconds of the second's]}, `rows` rows each."""
    from bench import measure

    measure.truncate()  # the previous size's coupons out of the way: memory and disk for these tables
    first, second = measure.new_coupon(), measure.new_coupon()
    create_scratch_tables([first.pk, second.pk])
    try:
        seconds = {}
        for table in (PLAIN, PARTITIONED):
            seconds[table] = [measure.raw_copy(coupon, rows, table=table) for coupon in (first, second)]
            sql("CHECKPOINT")
        seconds["sizes"] = {table: issued_sizes(table) for table in (PLAIN, PARTITIONED)}
        return rows, seconds
    finally:
        sql(f"DROP TABLE IF EXISTS {PLAIN}, {PARTITIONED}")


def create_scratch_tables(coupon_ids):
    """Two tables shaped like the issued-coupon table (same columns, same primary key, nothing else)."""
    from distribution.models import IssuedCoupon

    source = IssuedCoupon._meta.db_table
    sql(f"DROP TABLE IF EXISTS {PLAIN}, {PARTITIONED}")
    sql(f"CREATE TABLE {PLAIN} (LIKE {source} INCLUDING ALL)")
    # The primary key (coupon_id, user_id) holds the partition key, so each partition keeps its own
    # key index: a coupon's rows and their index live apart from every other coupon's.
    sql(f"CREATE TABLE {PARTITIONED} (LIKE {source} INCLUDING ALL) PARTITION BY LIST (coupon_id)")
    for coupon_id in coupon_ids:
        sql(f"CREATE TABLE {PARTITIONED}_{coupon_id} PARTITION OF {PARTITIONED} FOR VALUES IN ({coupon_id})")


# --- the report -------------------------------------------------------------------------------------------


def megabytes(n):
    return f"{n / 2**20:,.0f} MB"


def markdown(sizes, copies):
    lines = [
        "| coupons | seconds | rows/s | s per 1M | worker peak RSS | table | index | bytes/coupon | WAL | "
        "WAL per 10M |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sizes:
        lines.append(
            f"| {s.rows:,} | {s.seconds:,.1f} | {s.rate:,.0f} | {s.seconds / s.rows * 1e6:,.2f} | "
            f"{s.peak_rss_mb:,.0f} MB | {megabytes(s.table_bytes)} | {megabytes(s.index_bytes)} | "
            f"{(s.table_bytes + s.index_bytes) / s.rows:,.0f} | {megabytes(s.wal_bytes)} | "
            f"{megabytes(s.wal_bytes / s.rows * 1e7)} |"
        )
    names = list(sizes[0].pages_ms)
    lines += [
        "",
        "Admin pages with that many issued coupons (ms, median of 5):",
        "",
        "| coupons | " + " | ".join(names) + " |",
        "|---:|" + "---:|" * len(names),
    ]
    lines += [f"| {s.rows:,} | " + " | ".join(f"{s.pages_ms[n]:,.0f}" for n in names) + " |" for s in sizes]
    rows, seconds = copies
    lines += [
        "",
        f"COPY of {rows:,} rows a coupon (binary, the writer's format), plain table against one "
        "list-partitioned by coupon:",
        "",
        "| table | first coupon (empty table) | rows/s | second coupon (beside the first) | rows/s | "
        "table + index after |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for table, label in ((PLAIN, "plain"), (PARTITIONED, "partitioned by coupon (LIST)")):
        first, second = seconds[table]
        heap, index = seconds["sizes"][table]
        lines.append(
            f"| {label} | {first:,.1f} s | {rows / first:,.0f} | {second:,.1f} s | {rows / second:,.0f} | "
            f"{megabytes(heap + index)} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
