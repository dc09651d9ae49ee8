"""Benchmark: N coupons from a real Trino into a real PostgreSQL, four ways, measured in one run.

    make bench                 # 10,000,000 rows
    make bench ROWS=200000     # the CI smoke run

Prints a Markdown table (paste it into docs/benchmarks.md). Starts its own PostgreSQL (durable settings,
sized like a small production server; BENCH_PG_OPTIONS overrides) and Trino unless DATABASE_URL /
TRINO_HOST+TRINO_PORT are given.
Nothing here asserts a time: the numbers are for people to read.
"""

import argparse
import os
import sys
from contextlib import contextmanager

import django

from tests.harness import postgres, trino

# Production-like: durable commits, but enough memory and WAL room for a bulk load, and the WAL settings of
# docs/postgresql.md, under which a member's redeem does not wait behind a bulk run's WAL (bench/api.py).
PG_OPTIONS = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "shared_buffers": "1GB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "wal_init_zero": "off",
    "wal_writer_delay": "10ms",
    "wal_buffers": "64MB",
    # Each method must start alone: no autovacuum of the previous method's rows mid-measurement.
    "autovacuum": "off",
}
SAMPLE_CREATE = 20_000
BULK_CREATE_CAP = 1_000_000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3, help="runs of the full path at --rows; the median counts")
    parser.add_argument(
        "--only",
        choices=["holdout", "path"],
        help="holdout: the full path with a 10%% holdout and without; path: the full path, raw COPY, the bare loop",
    )
    args = parser.parse_args()
    with running_services() as (pg_url, trino_port):
        setup_django(pg_url, trino_port)
        from bench import measure  # models can be imported only once Django is set up

        measure.prepare(args.rows)
        if args.only == "holdout":
            from bench import holdout

            print(holdout.markdown(args.rows, holdout.run_holdout(args.rows, args.repeats)))
            return
        if args.only == "path":
            print(measure.markdown_path(args.rows, measure.run_path(args.rows, args.repeats)))
            return
        rows = measure.run_all(
            args.rows, sample_create=SAMPLE_CREATE, bulk_create_cap=BULK_CREATE_CAP, repeats=args.repeats
        )
        print(measure.markdown(args.rows, rows))


def setup_django(pg_url, trino_port):
    """Points couponops (this process and the workers it starts) at the benchmark's services."""
    os.environ.update(
        DATABASE_URL=pg_url,
        TRINO_HOST="127.0.0.1",
        TRINO_PORT=str(trino_port),
        DJANGO_SETTINGS_MODULE="couponops.settings",
        LOG_LEVEL="WARNING",
        # the benchmark times the machine, not a manager's approval
        DISTRIBUTION_APPROVAL_COUPONS="0",
        DISTRIBUTION_APPROVAL_VALUE="0",
    )
    django.setup()


@contextmanager
def running_services():
    """PostgreSQL and Trino: the given ones, or throwaway ones started here."""
    cluster = server = None
    try:
        pg_url = os.environ.get("DATABASE_URL")
        if not pg_url:
            cluster, reason = postgres.start_throwaway(options={**PG_OPTIONS, **pg_options_from_env()})
            if cluster is None:
                sys.exit(f"bench: {reason}")
            pg_url = cluster.url
        port = os.environ.get("TRINO_PORT") if os.environ.get("TRINO_HOST") else None
        if port is None:
            server = trino.TrinoServer().start()
            port = server.port
        yield pg_url, int(port)
    finally:
        if server:
            server.stop()
        if cluster:
            cluster.stop()


def pg_options_from_env():
    """BENCH_PG_OPTIONS="name=value,name=value": other PostgreSQL settings to measure against PG_OPTIONS."""
    return dict(item.split("=", 1) for item in os.environ.get("BENCH_PG_OPTIONS", "").split(",") if item)


if __name__ == "__main__":
    main()
