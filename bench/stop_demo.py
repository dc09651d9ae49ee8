"""Ctrl-C at random moments of `manage.py rundemo`, a few hundred times: does the demo always stop?

    .venv/bin/python -m bench.stop_demo --runs 300 [--max-delay 8]

Each run starts the demo as a terminal does (its own process group, stop signals at their defaults),
waits a random time from 0 to --max-delay seconds (while its children start, idle, mid-distribution),
sends SIGINT to the group and checks that rundemo ended within 60 s, that no process it started is
left, and that no request is left `running`. Whenever nothing is queued any more, a fresh coupon's
150,000-member distribution is queued, so that many stops land in the middle of one. A script, not a
CI test: a few hundred runs take about half an hour.
"""

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from tests.test_rundemo import Demo, manage, statuses

ROOT = Path(__file__).resolve().parents[1]


def demo_home(home):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SLACK_", "Q_", "DJANGO_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{home / 'demo.sqlite3'}",
        DEMO_DUCKDB_PATH=str(home / "demo.duckdb"),
        Q_POLL="0.1",
        DISTRIBUTION_CHUNK_SIZE="10000",
        PYTHONUNBUFFERED="1",
        DEMO_PASSWORD="demo-password",
    )
    with duckdb.connect(env["DEMO_DUCKDB_PATH"]) as warehouse:
        warehouse.execute("CREATE TABLE members AS SELECT 1000000 + i AS member_id FROM range(150000) t(i)")
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "setup_demo")
    return env, home / "demo.sqlite3"


def queue_another(env, n):
    code = f"STOP{n}"
    manage(
        env,
        "shell",
        "-c",
        f"from distribution.models import Coupon; Coupon.objects.create(name='{code}', code='{code}', "
        "discount_kind='percent', discount_amount=5, valid_days=7)",
    )
    manage(
        env, "distribute", "--coupon", code, "--source", "demo", "--table", "demo.main.members", "--column", "member_id"
    )


def one_stop(env, database, log, delay):
    """None when the demo stopped cleanly, else what went wrong."""
    run = Demo(env, log)
    time.sleep(delay)
    try:
        run.ctrl_c()
    except BaseException as exc:  # pytest.fail: rundemo did not stop within 60 s
        os.killpg(run.process.pid, 9)
        return f"did not stop: {str(exc)[:200]}"
    if left := run.left_behind():
        return f"left behind: {left}"
    if "running" in statuses(database):
        return f"a request left running: {statuses(database)}"
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--max-delay", type=float, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env, database = demo_home(home)
        failures, started = [], time.monotonic()
        for n in range(args.runs):
            if "queued" not in statuses(database):
                queue_another(env, n)
            delay = random.choice([0, 0, random.uniform(0, 0.5), random.uniform(0, args.max_delay)])
            problem = one_stop(env, database, home / f"run-{n}.log", delay)
            if problem:
                failures.append((n, delay, problem))
                print(f"run {n} (Ctrl-C after {delay:.2f} s): {problem}", flush=True)
            if n % 10 == 9:
                print(f"{n + 1} runs, {len(failures)} failed, {time.monotonic() - started:.0f} s", flush=True)
        print(f"stops: {args.runs}, clean: {args.runs - len(failures)}, failed: {len(failures)}")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
