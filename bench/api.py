"""Benchmark of the Coupon API: gunicorn on the benchmark's PostgreSQL, loaded by locust from another process.

    make bench-api                              # 10,000,000 issued coupons, 60 s of load per scenario
    make bench-api ROWS=200000 LOAD_SECONDS=20  # a smoke run

Three scenarios, each for LOAD_SECONDS of load: wallet look-ups and redeems with ROWS coupons issued across
200 coupons (idle); the same while the worker writes a distribution of DISTRIBUTION_ROWS coupons (the load
stops when the distribution ends); bulk issue through the API, 10,000 ids per call. Prints a Markdown table
for docs/benchmarks.md.

During the distribution Trino and the worker run at --bulk-nice (19): in production Trino is a cluster of its
own and the worker's unit has a lower CPUWeight than the web server's (docs/postgresql.md); on this
machine all of them share two cores. --bulk-nice 0 measures them at the API's priority.
Starts its own PostgreSQL (bench/run.py's settings) and Trino unless DATABASE_URL / TRINO_HOST are given.
"""

import argparse

from bench.run import running_services, setup_django


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000, help="issued coupons before the load")
    parser.add_argument(
        "--distribution-rows", type=int, default=None, help="the distribution written under load (default: --rows)"
    )
    parser.add_argument("--seconds", type=int, default=60, help="load per scenario")
    parser.add_argument("--users", type=int, default=4, help="concurrent locust users (no think time)")
    parser.add_argument("--bulk-users", type=int, default=2, help="concurrent bulk issuers")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument(
        "--bulk-nice",
        type=int,
        default=19,
        help="CPU priority of Trino and the worker during the distribution (0: the same as the API's)",
    )
    args = parser.parse_args()
    with running_services() as (pg_url, trino_port):
        setup_django(pg_url, trino_port)
        from bench import api_load  # models can be imported only once Django is set up

        print(api_load.run(args, pg_url), flush=True)


if __name__ == "__main__":
    main()
