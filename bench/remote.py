"""Benchmark: couponops → HTTP → couponops API → PostgreSQL (DISTRIBUTION_WRITER=http).

    make bench-http                  # 10,000,000 coupons
    make bench-http ROWS=200000      # a smoke run

A second couponops serves the Coupon API under gunicorn on its own database of the benchmark's PostgreSQL
(the "coupon service"); a real worker reads the audience from Trino and sends it in calls of 10,000 ids,
COUPON_API_CONCURRENCY in flight. Prints a Markdown table: seconds, rows/s, the worker's peak RSS, and the
CPU seconds of each party (worker, gunicorn, PostgreSQL, Trino) on this machine.
"""

import argparse

from bench.run import running_services, setup_django


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4, help="COUPON_API_CONCURRENCY")
    args = parser.parse_args()
    with running_services() as (pg_url, trino_port):
        setup_django(pg_url, trino_port)
        from bench import remote_path  # models can be imported only once Django is set up

        print(
            remote_path.run(rows=args.rows, pg_url=pg_url, web_workers=args.web_workers, concurrency=args.concurrency),
            flush=True,
        )


if __name__ == "__main__":
    main()
