"""The cost of one Coupon API call: calls per second per core, and queries per call.

    make bench-api-cost                     # 20 s of load per operation
    make bench-api-cost API_COST_SECONDS=5  # a smoke run

One gunicorn worker serves a closed loop of client threads (wallet look-ups, then redeems, each for
--seconds). The worker's own CPU time is read from /proc before and after, so "calls per core-second" is
calls ÷ the worker's CPU seconds: it does not depend on how busy the shared machine is, nor on the
client's share of it. PostgreSQL's CPU per call is shown apart. Queries and Python function calls per call
are counted in this process through Django's test client (the same views and middleware, without
gunicorn): unlike CPU time on a shared machine, counts do not move with the load.
Starts its own throwaway PostgreSQL (no Trino) unless DATABASE_URL is given. Prints a Markdown table
for docs/benchmarks.md; nothing here asserts a time.
"""

import argparse
import contextlib
import cProfile
import itertools
import os
import pstats
import threading
import time
from pathlib import Path

import django
import psutil
import requests

from tests.harness import postgres

LOGS = Path(__file__).resolve().parent.parent / "var" / "bench-api-cost"
MEMBERS = 2_000  # each holds COUPONS coupons
COUPONS = 5


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20, help="load per operation")
    parser.add_argument("--clients", type=int, default=4, help="client threads (closed loop, no think time)")
    args = parser.parse_args()
    cluster = None
    pg_url = os.environ.get("DATABASE_URL")
    if not pg_url:
        cluster, reason = postgres.start_throwaway()
        if cluster is None:
            raise SystemExit(f"bench: {reason}")
        pg_url = cluster.url
    try:
        os.environ.update(DATABASE_URL=pg_url, DJANGO_SETTINGS_MODULE="couponops.settings", LOG_LEVEL="WARNING")
        django.setup()
        print(measure(args, pg_url), flush=True)
    finally:
        if cluster:
            cluster.stop()


def measure(args, pg_url):
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    codes, key = seed()
    counts = in_process_cost(codes, key)
    from tests.harness.web import gunicorn  # after django.setup(): the harness imports settings-aware code

    LOGS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DATABASE_URL": pg_url, "LOG_LEVEL": "WARNING"}
    rows = []
    with gunicorn(env, LOGS / "gunicorn.log", workers=1) as server:
        calls = {"wallet": wallet_calls(server.url, key), "redeem": redeem_calls(server.url, key, codes)}
        for name, call in calls.items():
            load(call, args.clients, 2)  # warm the worker: imports, connection, caches
            rows.append((name, *counts[name], *load_measured(server, call, args)))
    return markdown(args, rows)


def seed():
    from api import services
    from distribution.models import Coupon
    from tests.api_helpers import hold

    codes = []
    for i in range(COUPONS):
        coupon = Coupon.objects.create(
            name=f"cost {i}",
            code=f"COST-{time.time_ns()}-{i}",
            discount_kind="amount",
            discount_amount=1000,
            valid_days=30,
        )
        hold(coupon, *range(1, MEMBERS + 1))
        codes.append(coupon.code)
    _client, key = services.api_client_create(name=f"cost-{time.time_ns()}", scopes=["read", "redeem"])
    return codes, key


def in_process_cost(codes, key):
    """Queries and Python function calls per call, through Django's test client in this process: counts,
    so they do not move with the machine's load as CPU time does."""
    from django.test import Client

    client, auth = Client(HTTP_HOST="localhost"), {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    client.get("/api/v1/members/1/coupons", **auth)  # the client's last use is written once a minute

    def wallet(i):
        return client.get(f"/api/v1/members/{i}/coupons", **auth)

    def redeem(i):
        url = f"/api/v1/members/{i}/coupons/{codes[-1]}/redeem"
        return client.post(url, '{"order_id": "q"}', content_type="application/json", **auth)

    return {"wallet": counted(wallet), "redeem": counted(redeem)}


def counted(call, calls=50):
    """(queries, Python function calls) per call, each call a new member."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    profiler = cProfile.Profile()
    with CaptureQueriesContext(connection) as queries:
        profiler.enable()
        answers = [call(MEMBERS - i).status_code for i in range(calls)]
        profiler.disable()
    assert set(answers) == {200}, answers
    return len(queries) / calls, pstats.Stats(profiler).total_calls / calls


def wallet_calls(url, key):
    members = itertools.cycle(range(1, MEMBERS + 1))
    return lambda session: session.get(f"{url}/api/v1/members/{next(members)}/coupons", headers=auth_of(key))


def redeem_calls(url, key, codes):
    # Each (member, coupon) once while they last, then again with the same order (the same answer, 200).
    # The last coupon is left to in_process_cost.
    pairs = itertools.cycle((member, code) for code in codes[:-1] for member in range(1, MEMBERS))
    lock = threading.Lock()

    def call(session):
        with lock:
            member, code = next(pairs)
        return session.post(
            f"{url}/api/v1/members/{member}/coupons/{code}/redeem",
            json={"order_id": f"o-{member}-{code}"},
            headers=auth_of(key),
        )

    return call


def auth_of(key):
    return {"Authorization": f"Bearer {key}"}


def load(call, clients, seconds):
    """Runs `call` from `clients` threads for `seconds`; returns (calls, failures)."""
    deadline = time.monotonic() + seconds
    counts = [[0, 0] for _ in range(clients)]

    def run(count):
        with requests.Session() as session:
            while time.monotonic() < deadline:
                ok = call(session).status_code == 200
                count[0 if ok else 1] += 1

    threads = [threading.Thread(target=run, args=(count,)) for count in counts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(c[0] for c in counts), sum(c[1] for c in counts)


def load_measured(server, call, args):
    worker = psutil.Process(server.process.pid).children()[0]
    before, pg_before, started = cpu_seconds(worker), postgres_cpu_seconds(), time.monotonic()
    calls, failures = load(call, args.clients, args.seconds)
    wall = time.monotonic() - started
    web_cpu, pg_cpu = cpu_seconds(worker) - before, postgres_cpu_seconds() - pg_before
    return calls, failures, calls / wall, calls / web_cpu, 1000 * web_cpu / calls, 1000 * pg_cpu / calls


def cpu_seconds(process):
    times = process.cpu_times()
    return times.user + times.system


def postgres_cpu_seconds():
    """CPU seconds of the database's other backends: the web worker's (CONN_MAX_AGE keeps one open)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pids = [pid for (pid,) in cursor.fetchall()]
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):  # a backend that ended meanwhile
            total += cpu_seconds(psutil.Process(pid))
    return total


def markdown(args, rows):
    lines = [
        f"One gunicorn worker, {args.clients} client threads, {args.seconds:g} s per operation "
        f"({MEMBERS:,} members × {COUPONS} coupons).",
        "",
        "| call | queries | Python calls | calls (failed) | calls/s (wall) | calls per web CPU-second | "
        "web CPU ms/call | PostgreSQL CPU ms/call |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, queries, functions, calls, failures, per_wall, per_core, web_ms, pg_ms in rows:
        lines.append(
            f"| {name} | {queries:g} | {functions:,.0f} | {calls:,} ({failures}) | {per_wall:,.0f} | {per_core:,.0f} | "
            f"{web_ms:.2f} | {pg_ms:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
