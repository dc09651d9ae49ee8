"""The measurements behind bench/remote.py. Needs Django set up against the benchmark's databases."""

import os
import resource
from pathlib import Path

from django.core.management import call_command

from bench import measure
from tests.harness.service import CouponService
from tests.harness.web import gunicorn

LOGS = Path(__file__).resolve().parent.parent / "var" / "bench-http"
TICKS = os.sysconf("SC_CLK_TCK")


def run(*, rows, pg_url, web_workers, concurrency):
    call_command("migrate", verbosity=0)
    measure.prepare(rows)
    LOGS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "LOG_LEVEL": "WARNING"}
    service = CouponService.create(pg_url, env, name="bench_coupon_service")
    web_env = {**env, "DATABASE_URL": service.database, "CONN_MAX_AGE": "60"}
    with gunicorn(web_env, LOGS / "gunicorn.log", workers=web_workers) as server:
        measure.truncate()
        coupon = measure.new_coupon()
        service.add_coupon(coupon.code)
        os.environ.update(
            DISTRIBUTION_WRITER="http",
            COUPON_API_URL=server.url,
            COUPON_API_KEY=service.key,
            COUPON_API_CONCURRENCY=str(concurrency),
        )
        try:
            before, reaped = cpu_seconds(server.process.pid), children_cpu()
            distribution, seconds, peak, _submit = measure.through_worker(coupon, rows, writer="http")
            spent = {party: after - before.get(party, 0) for party, after in cpu_seconds(server.process.pid).items()}
            spent["worker"] = children_cpu() - reaped  # the cluster has exited by now: its reaped usage
        finally:
            for name in ("DISTRIBUTION_WRITER", "COUPON_API_URL", "COUPON_API_KEY", "COUPON_API_CONCURRENCY"):
                os.environ.pop(name, None)
    check_exact(distribution, service, rows)
    return markdown(rows, seconds, peak, spent, web_workers, concurrency)


def check_exact(distribution, service, rows):
    distribution.refresh_from_db()
    counts = (distribution.status, distribution.read_count, distribution.issued_count)
    held = service.holders(distribution.coupon.code)
    if counts != ("succeeded", rows, rows) or held != (rows, rows):
        raise SystemExit(f"bench: counts are wrong: {counts}, the service holds {held}")


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds(gunicorn_pid):
    """CPU seconds so far of the running parties: gunicorn (arbiter and workers), PostgreSQL (every postgres
    process), Trino. The worker's comes from children_cpu, once its cluster has exited."""
    parties = {"gunicorn": 0.0, "worker": 0.0, "PostgreSQL": 0.0, "Trino": 0.0}
    gunicorn_family = {gunicorn_pid, *measure.descendants(gunicorn_pid)}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        party = _party(int(stat.parent.name), gunicorn_family)
        if party:
            parties[party] += _cpu(stat)
    return parties


def _party(pid, gunicorn_family):
    if pid in gunicorn_family:
        return "gunicorn"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return None
    if b"runworker" in command:
        return "worker"
    if command.startswith(b"postgres"):
        return "PostgreSQL"
    if b"io.trino" in command or b"trino-server" in command:
        return "Trino"
    return None


def _cpu(stat):
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def markdown(rows, seconds, peak, spent, web_workers, concurrency):
    parts = ", ".join(f"{party} {value:,.1f} s" for party, value in spent.items())
    return "\n".join(
        [
            f"Rows: {rows:,} (gunicorn with {web_workers} workers, COUPON_API_CONCURRENCY={concurrency})",
            "",
            "| method | rows | seconds | rows/s | worker peak RSS | CPU seconds by party |",
            "|---|---:|---:|---:|---:|---|",
            f"| couponops → HTTP → couponops API → PostgreSQL | {rows:,} | {seconds:,.1f} | {rows / seconds:,.0f} | "
            f"{peak:,.0f} MB | {parts} |",
        ]
    )
