"""The measurements behind bench/api.py. Needs Django set up against the benchmark's databases."""

import csv
import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import psycopg2
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from api import services as api_services
from api.models import IssueCall
from bench import measure, priority
from distribution import services
from distribution.actors import Actor
from distribution.models import Coupon, IssuedCoupon
from distribution.writers import Chunk
from distribution.writers.copy import copy_payload, copy_stream
from tests.harness.web import gunicorn

COUPONS = 200
PREFIX = "BENCHAPI-"
FIRST_MEMBER = 100_000_000
BULK_FIRST_ID = 500_000_000
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
LOGS = Path(__file__).resolve().parent.parent / "var" / "bench-api"  # locust's CSVs and logs, gunicorn's log


def run(args, pg_url):
    call_command("migrate", verbosity=0)
    seeded = seed(args.rows)
    _client, key = api_services.api_client_create(name=f"bench-{time.time_ns()}", scopes=["issue", "read", "redeem"])
    env = {
        **os.environ,
        "DATABASE_URL": pg_url,
        "LOG_LEVEL": "WARNING",
        "BENCH_API_KEY": key,
        "BENCH_MEMBERS": str(seeded),
        "BENCH_FIRST_MEMBER": str(FIRST_MEMBER),
        "BENCH_COUPONS": str(COUPONS),
        "BENCH_COUPON_PREFIX": PREFIX,
    }
    distribution_rows = args.distribution_rows or args.rows
    measure.prepare(distribution_rows)
    results = []
    LOGS.mkdir(parents=True, exist_ok=True)
    with gunicorn(env, LOGS / "gunicorn.log", workers=args.web_workers) as server:
        results += load(server.url, env, "Member", args.users, args.seconds, "idle")
        results += during_distribution(server.url, env, args, distribution_rows, pg_url)
        results += bulk_issue(server.url, env, args)
    return markdown(args, distribution_rows, results)


def seed(rows):
    """ROWS coupons across COUPONS coupons: member k holds the coupons i ≡ k (mod 20); each member 10.
    Written by binary COPY in key order, as the worker writes; returns the number of members."""
    measure.truncate()
    members = rows // (COUPONS // 20)
    now = timezone.now()
    for i in range(COUPONS):
        coupon, _ = Coupon.objects.update_or_create(
            code=f"{PREFIX}{i:03d}",
            defaults={"name": f"API bench {i}", "discount_kind": "amount", "discount_amount": 1000, "valid_days": 30},
        )
        ids = range(FIRST_MEMBER + i % 20, FIRST_MEMBER + members, 20)
        chunk = Chunk(coupon.pk, measure.done_request(coupon).pk, [], now, now + timedelta(days=30))
        with transaction.atomic(), connection.cursor() as cursor:
            copy_stream(cursor, io.BytesIO(copy_payload(chunk, ids)))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE distribution_issuedcoupon")
    return members


def load(url, env, user_class, users, seconds, scenario, *, until=None):
    """Runs locust headless for `seconds`, or until `until()` is true (SIGTERM: locust stops and keeps its
    statistics); returns one result per request name."""
    prefix = LOGS / f"locust-{scenario.replace(' ', '-')}"
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        url,
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{seconds}s",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "10",
        user_class,
    ]
    started = time.time()
    with open(f"{prefix}.log", "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
        while process.poll() is None:
            if until is not None and until():
                process.send_signal(signal.SIGTERM)
                break
            time.sleep(0.2)
        ended = time.time()
        process.wait()
    with open(f"{prefix}_stats.csv") as stats:
        rows = [row for row in csv.DictReader(stats) if row["Name"] != "Aggregated"]
    return [
        {
            "scenario": scenario,
            "name": row["Name"],
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "rps": float(row["Requests/s"]),
            "p50": row["50%"],
            "p95": row["95%"],
            "p99": row["99%"],
            "started": started,
            "ended": ended,
        }
        for row in rows
    ]


def during_distribution(url, env, args, rows, pg_url):
    """The same load while the worker writes a distribution of `rows` coupons of a new coupon; the load stops
    when the distribution ends, so every request measured ran beside it."""
    with measure.worker({"Q_POLL": "0.2", "LOG_LEVEL": "WARNING"}) as worker, WaitSampler(pg_url) as waits:
        for pid in [worker.pid, *priority.trino_pids()]:
            priority.lower(pid, args.bulk_nice)
        distribution = services.distribution_submit(
            actor=Actor.command_line(), distribution=measure.new_request(measure.new_coupon(), rows)
        )
        while distribution.read_count == 0 and not distribution.is_finished:
            time.sleep(0.05)
            distribution.refresh_from_db()
        waits.start()
        results = load(
            url, env, "Member", args.users, args.seconds, "during a distribution", until=lambda: _finished(distribution)
        )
        waits.stop()
        while not _finished(distribution):
            time.sleep(0.2)
    measure.check_exact(distribution, rows, 0)
    seconds = results[0]["ended"] - results[0]["started"]
    for result in results:
        result["note"] = (
            f"{seconds:.0f} s of load, all while the worker wrote {rows:,} coupons "
            f"({distribution.rows_per_second:,.0f} rows/s)"
        )
        result["waits"] = waits.top()
    return results


def _finished(distribution):
    distribution.refresh_from_db()
    return distribution.is_finished


class WaitSampler:
    """What the API's PostgreSQL backends are doing (every 10 ms, from pg_stat_activity): running on a CPU or
    waiting, and for what. The worker's COPY is left out: it is the load, not the measured."""

    QUERY = """SELECT coalesce(wait_event_type || ': ' || wait_event, 'on CPU') FROM pg_stat_activity
               WHERE backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()
               AND query NOT LIKE 'COPY %%'"""

    def __init__(self, pg_url):
        self.pg_url, self.counts, self.running = pg_url, Counter(), threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self.running.set()
        self.thread.start()

    def stop(self):
        self.running.clear()
        if self.thread.is_alive():
            self.thread.join()

    def _sample(self):
        conn = psycopg2.connect(self.pg_url)
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                while self.running.is_set():
                    cursor.execute(self.QUERY)
                    self.counts.update(row[0] for row in cursor.fetchall())
                    time.sleep(0.01)
        finally:
            conn.close()

    def top(self, n=5):
        total = sum(self.counts.values()) or 1
        return ", ".join(f"{what} {count / total:.0%}" for what, count in self.counts.most_common(n))


def bulk_issue(url, env, args):
    coupon = measure.new_coupon()
    env = {**env, "BENCH_BULK_COUPON": coupon.code, "BENCH_BULK_FIRST_ID": str(BULK_FIRST_ID)}
    results = load(url, env, "BulkIssuer", args.bulk_users, args.seconds, "bulk issue")
    check_bulk_exact(coupon)
    for result in results:
        result["note"] = f"{result['rps'] * 10_000:,.0f} coupons/s; {coupon.issued_so_far():,} issued in all, exact"
    return results


def check_bulk_exact(coupon):
    """Every call that answered issued its 10,000, each once (locust may stop counting before the last answers)."""
    calls = IssueCall.objects.filter(coupon=coupon)
    in_table = IssuedCoupon.objects.filter(coupon=coupon).count()
    if calls.exclude(issued_count=10_000).exists() or in_table != calls.count() * 10_000 != coupon.issued_so_far():
        raise SystemExit(f"bench: {in_table:,} rows for {calls.count()} issue calls of 10,000")


def markdown(args, distribution_rows, results):
    lines = [
        f"Issued coupons before the load: {args.rows:,} across {COUPONS} coupons; distribution under load: "
        f"{distribution_rows:,}; {args.seconds} s per scenario; {args.users} locust users "
        f"({args.bulk_users} for bulk issue), no think time; gunicorn with {args.web_workers} sync workers; "
        f"during the distribution Trino and the worker at nice {args.bulk_nice}.",
        "",
        "| scenario | call | requests | failures | requests/s | p50 ms | p95 ms | p99 ms | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['scenario']} | {r['name']} | {r['requests']:,} | {r['failures']:,} | {r['rps']:,.0f} | "
            f"{r['p50']} | {r['p95']} | {r['p99']} | {r.get('note', '')} |"
        )
    waits = next((r["waits"] for r in results if r.get("waits")), None)
    if waits:
        lines += ["", f"The API's PostgreSQL backends during the distribution (share of samples): {waits}."]
    return "\n".join(lines)
