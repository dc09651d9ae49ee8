"""A real worker cluster stopped or killed mid-run: a stopping cluster claims nothing more, the request
is `queued` (or finished), never `running`, nothing is left behind; a dead worker's run is taken over
by the lease's expiry, by itself."""

import contextlib
import os
import re
import signal
import subprocess
import time

import pytest

from distribution import services
from distribution.management.commands.rundemo import live_members
from distribution.models import DistributionRequest, IssuedCoupon, Transition
from tests.harness.cluster import process_env, qcluster
from tests.helpers import by, wait_for

Status = DistributionRequest.Status
Action = Transition.Action
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
MEMBERS = 150_000


@pytest.fixture
def env(duckdb_source, settings):
    """The demo source, a DuckDB file (the shared Trino is slow under a loaded machine, and a stop's test is
    not about the warehouse), with 150,000 members."""
    settings.DISTRIBUTION_APPROVAL_COUPONS = 0
    duckdb_source(f"CREATE TABLE members AS SELECT 1000000 + i AS user_id FROM range({MEMBERS}) t(i)")
    return process_env(
        DEMO_DUCKDB_PATH=settings.COUPONOPS_SOURCES["demo"]["path"],
        DISTRIBUTION_CHUNK_SIZE=5000,
        DISTRIBUTION_WRITER="bulk_create",
        DISTRIBUTION_CHUNK_PAUSE=0.05,
        Q_CLUSTER_NAME="couponops",
        PYTHONFAULTHANDLER=1,
    )


def submit(coupon):
    return services.distribution_submit(
        actor=by(),
        distribution=DistributionRequest(
            coupon=coupon, source="demo", table="warehouse.main.members", column="user_id", memo="stops"
        ),
    )


def progressed(distribution, read):
    return DistributionRequest.objects.get(pk=distribution.pk).read_count >= read


def worker_pid(log):
    """The cluster's current worker (one worker: the last one django-q2 announced)."""
    pids = re.findall(r"ready for work at (\d+)", log.read_text())
    return int(pids[-1]) if pids else None


def assert_stopped_cleanly(cluster, distribution, log):
    try:
        cluster.wait(60)
    except subprocess.TimeoutExpired:  # each worker's threads' stacks into the log (PYTHONFAULTHANDLER)
        for pid in re.findall(r"ready for work at (\d+)", log.read_text()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGABRT)
        time.sleep(2)
        pytest.fail(f"the cluster did not stop; its log:\n{log.read_text()[-6000:]}")
    wait_for(lambda: not live_members(cluster.pid), timeout=30, what="every process of the cluster to end")
    distribution.refresh_from_db()
    assert distribution.status == Status.QUEUED
    assert distribution.read_count == IssuedCoupon.objects.filter(coupon_id=distribution.coupon_id).count()
    return distribution


STOPS = {
    "SIGTERM to the group (systemd's control-group stop)": lambda pid: os.killpg(pid, signal.SIGTERM),
    "SIGTERM to the main process (systemd's mixed stop)": lambda pid: os.kill(pid, signal.SIGTERM),
    "SIGINT to the group (Ctrl-C in a terminal)": lambda pid: os.killpg(pid, signal.SIGINT),
}


@pytest.mark.parametrize("stop", STOPS)
def test_a_stopping_cluster_claims_nothing_more(stop, postgres, env, coupon, tmp_path):
    """The demo's sequence: wake-ups wait in the broker while the run goes on, then the stop. The stopped
    worker used to go back to the task queue (its SIGTERM was ignored after the run) and claim again."""
    distribution = submit(coupon)
    with qcluster(env, tmp_path / "cluster.log") as cluster:
        wait_for(lambda: progressed(distribution, 20_000), what="progress")
        for _ in range(3):
            services.distribution_queue_kick()
        time.sleep(0.5)  # the pusher hands one to the worker's queue
        STOPS[stop](cluster.pid)
        assert_stopped_cleanly(cluster, distribution, tmp_path / "cluster.log")
    assert distribution.attempts == 1 and distribution.read_count < MEMBERS
    assert distribution.transitions.filter(action=Action.STARTED).count() == 1


@pytest.mark.parametrize("delay", [0, 0.3, 1.5])
def test_a_stop_while_the_sentinel_respawns_a_worker_leaves_the_request_queued(delay, postgres, env, coupon, tmp_path):
    distribution = submit(coupon)
    log = tmp_path / "cluster.log"
    with qcluster(env, log) as cluster:
        wait_for(lambda: progressed(distribution, 20_000), what="progress")
        services.distribution_queue_kick()  # the respawned worker finds a wake-up and resumes the run
        first = worker_pid(log)
        os.kill(first, signal.SIGTERM)  # this worker only: it ends its chunk, queues the request, dies
        wait_for(lambda: worker_pid(log) not in (None, first), timeout=30, what="the respawned worker")
        time.sleep(delay)
        os.killpg(cluster.pid, signal.SIGTERM)
        assert_stopped_cleanly(cluster, distribution, log)


def test_a_killed_worker_is_taken_over_within_a_minute_with_default_settings(postgres, env, coupon, tmp_path):
    for name in ("DISTRIBUTION_STALE_AFTER", "DISTRIBUTION_LEASE_INTERVAL", "WORKER_HEARTBEAT_INTERVAL"):
        env.pop(name, None)
    distribution = submit(coupon)
    log = tmp_path / "cluster.log"
    with qcluster(env, log):
        wait_for(lambda: progressed(distribution, 20_000), what="progress")
        os.kill(worker_pid(log), signal.SIGKILL)  # mid-chunk: no handler, no cleanup
        killed_at = time.monotonic()
        wait_for(
            lambda: distribution.transitions.filter(action=Action.TAKEN_OVER).exists(),
            timeout=60,
            what="the take-over, by the cluster itself, within a minute",
        )
        taken_over_after = time.monotonic() - killed_at
        wait_for(lambda: DistributionRequest.objects.get(pk=distribution.pk).is_finished, what="the resumed run")
    distribution.refresh_from_db()
    assert (distribution.status, distribution.read_count, distribution.issued_count) == (
        Status.SUCCEEDED,
        MEMBERS,
        MEMBERS,
    ), taken_over_after
    assert IssuedCoupon.objects.filter(coupon_id=distribution.coupon_id).count() == MEMBERS
    assert distribution.attempts == 2
