"""Benchmark of the throttle and the read replica: members' calls at a fixed rate while a distribution runs.

    make bench-throttle                              # 10,000,000 issued, a 10,000,000 run per scenario
    make bench-throttle ROWS=1000000 LOAD_SECONDS=20 # a smoke run on a shared machine

An open-loop load (bench/openloop.py: 40 wallet look-ups and 10 redeems per second, latency counted from each
call's scheduled send time) against the API under gunicorn: idle; during a run with the default throttle;
with the default throttle also timing the members' calls (THROTTLE_PROBE_URL: the web server's /healthz);
with the throttle off; with a read replica (a streaming standby of the benchmark's PostgreSQL, made for this
scenario only, since on one machine its replay takes CPU from the members' calls; the wallet
read there) and the default throttle, the replica's lag sampled during the run. The runs alone (no load),
throttle on and off, show what the throttle costs when nobody calls. Each scenario starts after a CHECKPOINT,
so that the dirty buffers of the ones before do not stall its commits. Each run is checked exact. Prints a
Markdown table for docs/benchmarks.md; asserts no time.
"""

import argparse
import os
import threading
import time
from contextlib import contextmanager, nullcontext
from types import SimpleNamespace
from urllib.parse import urlparse

import psycopg2

from bench.openloop import Members, load, percentile
from bench.run import PG_OPTIONS, running_services, setup_django
from tests.harness import postgres

BUCKETS = ("p50", "p95", "p99")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000, help="issued coupons before the load")
    parser.add_argument("--distribution-rows", type=int, default=None, help="each run's size (default: --rows)")
    parser.add_argument("--seconds", type=int, default=30, help="idle load")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--bulk-nice", type=int, default=19, help="CPU priority of Trino and the worker")
    args = parser.parse_args()
    with running_services() as (pg_url, trino_port):
        setup_django(pg_url, trino_port)
        print(Bench(args, pg_url).run(), flush=True)


@contextmanager
def standby_of(pg_url):
    """A streaming standby of the benchmark's PostgreSQL (on this machine), stopped at the end."""
    address = urlparse(pg_url)
    primary = SimpleNamespace(bin_dir=postgres.find_bin_dir(), options=PG_OPTIONS, port=address.port)
    standby = postgres.Standby(primary).start()
    try:
        yield standby
    finally:
        standby.stop()


class Bench:
    def __init__(self, args, pg_url):
        self.args, self.pg_url, self.standby = args, pg_url, None
        self.rows = args.distribution_rows or args.rows
        self.lines = []

    def run(self):
        from bench import api_load, measure  # models can be imported only once Django is set up

        self.measure, self.api_load = measure, api_load
        measure.prepare(self.rows)
        members = api_load.seed(self.args.rows)
        self.members = self._members(members)
        self._alone("run alone, throttle on", {})
        self._alone("run alone, throttle off", {"THROTTLE_ENABLED": "false"})
        with self._web({}) as url:
            self._row("idle", *self._load(url, seconds=self.args.seconds), run=None)
            self._during(url, "during a run, default throttle", {})
            calls = {"THROTTLE_PROBE_URL": f"{url}/healthz"}
            self._during(url, "during a run, throttle timing members' calls (THROTTLE_PROBE_URL)", calls)
            self._during(url, "during a run, throttle off", {"THROTTLE_ENABLED": "false"})
        # The standby exists for its own scenario only: on this one machine its replay of every run's WAL takes
        # CPU from the members' calls (p99 54 ms without it, 154 ms with it, for the same 3M run, 2026-12-02).
        with standby_of(self.pg_url) as self.standby:
            replica = {"DATABASE_REPLICA_URL": self.standby.url}
            with self._web(replica) as url:
                self._during(url, "during a run, default throttle, wallet on the replica", replica, lag=True)
        return self._markdown()

    def _members(self, count):
        api = self.api_load
        return Members(first=api.FIRST_MEMBER, count=count, coupons=api.COUPONS, prefix=api.PREFIX)

    @contextmanager
    def _web(self, env):
        from api import services as api_services
        from tests.harness.web import gunicorn

        _client, self.key = api_services.api_client_create(name=f"bench-{time.time_ns()}", scopes=["read", "redeem"])
        full = {**os.environ, "LOG_LEVEL": "WARNING", **env}
        self.api_load.LOGS.mkdir(parents=True, exist_ok=True)
        self.access_log = self.api_load.LOGS / f"access-throttle-{time.time_ns()}.log"
        logs = self.api_load.LOGS / "gunicorn-throttle.log"
        with gunicorn(full, logs, workers=self.args.web_workers, access_log=self.access_log) as server:
            # Each worker's first calls open its connection and warm its caches (idle redeems 1 and 2 took 112
            # and 77 ms, 2026-12-02): not what a member meets, so not counted.
            load(server.url, self.key, self.members, seconds=5)
            yield server.url

    def _load(self, url, **kwargs):
        """The open loop's summary, each call's also with its p99 at the server (gunicorn's own time for it):
        what a slow call waited for in front of gunicorn — the listen queue, a CPU for the load's own
        threads on this machine — is the difference."""
        start = self.access_log.stat().st_size if self.access_log.exists() else 0
        if kwargs.get("until") is None:
            _checkpoint()
        summary, seconds = load(url, self.key, self.members, **kwargs)
        time.sleep(1)  # gunicorn writes its access log after the answer
        at_server = server_times(self.access_log, start)
        for name, values in summary.items():
            values["server_p99"] = percentile(at_server.get(name, []), 0.99)
        return summary, seconds

    def _alone(self, scenario, env):
        with self._running(env) as (distribution, finished):
            finished.wait()
        self._row(scenario, {}, 0, run=distribution)

    def _during(self, url, scenario, env, *, lag=False):
        sampler = LagSampler(self.standby) if lag else nullcontext()
        with self._running(env) as (distribution, finished), sampler:
            summary, seconds = self._load(url, seconds=24 * 3600, until=finished.is_set)
        self._row(scenario, summary, seconds, run=distribution, lag=sampler if lag else None)

    @contextmanager
    def _running(self, env):
        """A distribution of `rows` coupons of a new coupon, by the real worker with `env`; yields it once its
        first chunk is written, with an Event set when it is finished."""
        from distribution import services
        from distribution.actors import Actor

        measure = self.measure
        _checkpoint()
        log = self.api_load.LOGS / "worker-throttle.log"
        log.parent.mkdir(parents=True, exist_ok=True)  # the runs alone come before the web server's log
        with measure.worker({"Q_POLL": "0.2", "LOG_LEVEL": "WARNING", **env}, log) as worker:
            for pid in [worker.pid, *self._trino_pids()]:
                self._lower(pid)
            distribution = services.distribution_submit(
                actor=Actor.command_line(), distribution=measure.new_request(measure.new_coupon(), self.rows)
            )
            while distribution.read_count == 0 and not distribution.is_finished:
                time.sleep(0.05)
                distribution.refresh_from_db()
            finished = threading.Event()
            watcher = threading.Thread(target=_watch, args=(distribution, finished), daemon=True)
            watcher.start()
            yield distribution, finished
            watcher.join()
        measure.check_exact(distribution, self.rows, 0)

    def _trino_pids(self):
        from bench import priority

        return priority.trino_pids()

    def _lower(self, pid):
        from bench import priority

        priority.lower(pid, self.args.bulk_nice)

    def _row(self, scenario, summary, seconds, *, run, lag=None):
        run_text = "–"
        if run is not None:
            run.refresh_from_db()
            run_text = (
                f"{run.elapsed_seconds:,.1f} s ({run.rows_per_second:,.0f}/s), {run.throttled_seconds:,.1f} s throttled"
            )
        lag_text = lag.text() if lag is not None else "–"
        if not summary:
            self.lines.append(f"| {scenario} | – | – | – | – | – | – | {run_text} | {lag_text} |")
        for name, values in summary.items():
            server = values.get("server_p99")
            cells = " | ".join([*(f"{values[b]:,.0f}" for b in BUCKETS), "–" if server is None else f"{server:,.0f}"])
            self.lines.append(
                f"| {scenario} | {name} | {values['calls']:,} ({values['rate']:,.0f}/s, {values['failures']} failed) "
                f"| {cells} | {run_text} | {lag_text} |"
            )

    def _markdown(self):
        a = self.args
        head = [
            f"Issued coupons before the load: {a.rows:,}; each run {self.rows:,} coupons; open loop of 40 wallet "
            f"look-ups and 10 redeems per second, latency from each call's scheduled send time; gunicorn with "
            f"{a.web_workers} sync workers; Trino and the worker at nice {a.bulk_nice}.",
            "",
            "| scenario | call | calls | p50 ms | p95 ms | p99 ms | p99 at the server ms | the run | replica lag |",
            "|---|---|---:|---:|---:|---:|---:|---|---|",
        ]
        return "\n".join(head + self.lines)


def _checkpoint():
    """Writes out what the scenarios before left dirty: a checkpoint they caused would otherwise stall this
    one's commits (the idle redeems' slowest calls came in pairs, 100–200 ms, with no run)."""
    from django.db import DatabaseError, connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError as exc:  # a DATABASE_URL whose role may not (PostgreSQL 15: superuser or pg_checkpoint)
        print(f"bench: no checkpoint before the scenario: {exc}".strip(), flush=True)


def server_times(path, start):
    """Milliseconds gunicorn spent on each wallet look-up and redeem logged after byte `start` of `path`."""
    times = {}
    with open(path, encoding="utf-8") as log:
        log.seek(start)
        for line in log:
            method, url, micros = line.split()
            name = "redeem" if url.endswith("/redeem") else "wallet" if url.endswith("/coupons") else None
            if name is not None:
                times.setdefault(name, []).append(int(micros) / 1000)
    return times


def _watch(distribution, finished):
    while True:
        distribution.refresh_from_db()
        if distribution.is_finished:
            finished.set()
            return
        time.sleep(0.25)


class LagSampler:
    """The standby's lag (common/replica.py's query) every 100 ms while the run writes."""

    def __init__(self, standby):
        self.standby, self.samples, self.running = standby, [], threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self):
        self.running.set()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.running.clear()
        self.thread.join()

    def _sample(self):
        from common.replica import LAG_SQL

        conn = psycopg2.connect(self.standby.url)
        conn.autocommit = True
        with conn, conn.cursor() as cursor:
            while self.running.is_set():
                cursor.execute(LAG_SQL)
                self.samples.append(float(cursor.fetchone()[0]))
                time.sleep(0.1)
        conn.close()

    def text(self):
        if not self.samples:
            return "–"
        return f"p50 {percentile(self.samples, 0.5):.2f} s, max {max(self.samples):.2f} s"


if __name__ == "__main__":
    main()
