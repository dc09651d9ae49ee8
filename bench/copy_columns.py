"""Do the Coupon API's nullable columns on the bulk table cost COPY anything? A small side-by-side measurement.

    .venv/bin/python -m bench.copy_columns --rows 2000000

COPYs the writer's own binary payload, in key order, into tables in one throwaway PostgreSQL (bench/run.py's
settings): the bulk table as it was (7 columns, request_id NOT NULL), as it is now (10 columns: request_id
nullable, issue_call_id, order_id, redeemed_by_id) and, for comparison, with one column more than before (8);
alternating, each from empty. Prints the median time and the size of each. The API columns are NULL in every
COPYed row, as in every row a distribution writes.
"""

import argparse
import io
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from bench.run import PG_OPTIONS, setup_django
from tests.harness import postgres

BEFORE = """CREATE TABLE coupons_before (coupon_id bigint NOT NULL, user_id bigint NOT NULL, request_id bigint NOT NULL,
  issued_at timestamptz NOT NULL, expires_at timestamptz NOT NULL, used_at timestamptz, deleted_at timestamptz,
  PRIMARY KEY (coupon_id, user_id))"""
AFTER = """CREATE TABLE coupons_after (coupon_id bigint NOT NULL, user_id bigint NOT NULL, request_id bigint,
  issued_at timestamptz NOT NULL, expires_at timestamptz NOT NULL, used_at timestamptz, deleted_at timestamptz,
  issue_call_id bigint, order_id varchar(100), redeemed_by_id bigint, PRIMARY KEY (coupon_id, user_id))"""
# For comparison: one nullable column more than before, eight in all (see docs/benchmarks.md on the null bitmap).
ONE_MORE = """CREATE TABLE coupons_one_more (coupon_id bigint NOT NULL, user_id bigint NOT NULL, request_id bigint,
  issued_at timestamptz NOT NULL, expires_at timestamptz NOT NULL, used_at timestamptz, deleted_at timestamptz,
  issue_call_id bigint, PRIMARY KEY (coupon_id, user_id))"""
COLUMNS = "coupon_id, user_id, request_id, issued_at, expires_at"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cluster, reason = postgres.start_throwaway(options=PG_OPTIONS)
    if cluster is None:
        sys.exit(f"bench: {reason}")
    try:
        setup_django(cluster.url, 0)
        print(measure(args.rows, args.repeats))
    finally:
        cluster.stop()


def measure(rows, repeats):
    from django.db import connection

    from distribution.writers import Chunk
    from distribution.writers.copy import copy_payload

    now = datetime.now(UTC)
    payload = copy_payload(Chunk(7, 1, [], now, now + timedelta(days=30)), range(1_000_000, 1_000_000 + 3 * rows, 3))
    times = {"coupons_before": [], "coupons_one_more": [], "coupons_after": []}
    sizes = {}
    with connection.cursor() as cursor:
        cursor.execute(BEFORE)
        cursor.execute(AFTER)
        cursor.execute(ONE_MORE)
        for _ in range(repeats):
            for table in times:
                cursor.execute(f"TRUNCATE {table}")
                cursor.execute("CHECKPOINT")
                started = time.perf_counter()
                cursor.copy_expert(f"COPY {table} ({COLUMNS}) FROM STDIN WITH (FORMAT binary)", io.BytesIO(payload))
                connection.commit() if not connection.get_autocommit() else None
                times[table].append(time.perf_counter() - started)
                cursor.execute("SELECT pg_table_size(%s), pg_indexes_size(%s)", [table, table])
                sizes[table] = cursor.fetchone()
    lines = [
        f"{rows:,} rows, {repeats} runs each, alternating:",
        "",
        "| table | median s | runs (s) | rows/s | heap | primary key |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for table, runs in times.items():
        median = statistics.median(runs)
        heap, index = sizes[table]
        lines.append(
            f"| {table} | {median:.2f} | {', '.join(f'{r:.2f}' for r in runs)} | {rows / median:,.0f} | "
            f"{heap / 2**20:,.0f} MB | {index / 2**20:,.0f} MB |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
