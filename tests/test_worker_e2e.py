"""The whole path as a user runs it: a real qcluster process, Trino, PostgreSQL."""

import os
import signal
import time

import pytest
from django.db.models import Count

from distribution import services
from distribution.models import DistributionRequest, IssuedCoupon
from tests.conftest import unavailable
from tests.harness.cluster import manage, process_env, qcluster
from tests.harness.trino import TrinoServer, TrinoUnavailable
from tests.helpers import by, running_past, wait_for

Status = DistributionRequest.Status
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_until_finished(distributions, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for distribution in distributions:
            distribution.refresh_from_db()
        if all(distribution.is_finished for distribution in distributions):
            return
        time.sleep(0.3)
    pytest.fail(f"distributions did not finish within {timeout}s: {[r.status for r in distributions]}")


def test_a_real_cluster_runs_requests_in_order_one_at_a_time(postgres, warehouse, memory_table, coupon, tmp_path):
    first_table = memory_table("SELECT custkey AS user_id FROM tpch.sf1.customer WHERE custkey <= 60000")
    second_table = memory_table(
        "SELECT custkey AS user_id FROM tpch.sf1.customer WHERE custkey BETWEEN 30001 AND 90000"
    )
    env = process_env(TRINO_HOST="127.0.0.1", TRINO_PORT=warehouse.port, DISTRIBUTION_CHUNK_SIZE=7000)
    first = services.distribution_submit(
        actor=by(),
        distribution=DistributionRequest(
            coupon=coupon, source="warehouse", table=first_table, column="user_id", memo="first"
        ),
    )
    with qcluster(env, tmp_path / "qcluster.log"):
        cli = manage(
            "distribute",
            "--coupon",
            coupon.code,
            "--source",
            "warehouse",
            "--table",
            second_table,
            "--column",
            "user_id",
            "--memo",
            "second",
            "--wait",
            env=env,
            timeout=180,
        )
        assert cli.returncode == 0, cli.stderr + (tmp_path / "qcluster.log").read_text()
        second = DistributionRequest.objects.get(memo="second")
        wait_until_finished([first, second])

    assert "succeeded: 30,000 issued, 30,000 skipped" in cli.stdout
    assert (first.status, first.read_count, first.issued_count, first.skipped_count) == (
        Status.SUCCEEDED,
        60000,
        60000,
        0,
    )
    assert (second.status, second.read_count, second.issued_count, second.skipped_count) == (
        Status.SUCCEEDED,
        60000,
        30000,
        30000,
    )
    assert first.finished_at <= second.started_at
    assert IssuedCoupon.objects.filter(coupon=coupon).count() == 90000
    assert not IssuedCoupon.objects.values("coupon", "user_id").annotate(n=Count("*")).filter(n__gt=1).exists()
    assert set(IssuedCoupon.objects.filter(user_id__gt=60000).values_list("distribution_id", flat=True)) == {second.pk}


def test_the_started_message_reaches_slack_while_the_distribution_runs(
    postgres, warehouse, coupon, tmp_path, fake_slack
):
    env = process_env(
        TRINO_HOST="127.0.0.1",
        TRINO_PORT=warehouse.port,
        DISTRIBUTION_CHUNK_SIZE=5000,
        DISTRIBUTION_WRITER="bulk_create",
        SLACK_WEBHOOK_URL=fake_slack.webhook_url,
    )
    with (
        qcluster(env, tmp_path / "distribution.log"),
        qcluster({**env, "Q_CLUSTER_NAME": "notifications"}, tmp_path / "notifications.log"),
    ):
        distribution = services.distribution_submit(
            actor=by(),
            distribution=DistributionRequest(
                coupon=coupon, source="warehouse", table="tpch.sf1.customer", column="custkey", memo="slack e2e"
            ),
        )
        wait_until_finished([distribution])
        deadline = time.monotonic() + 60
        while len(fake_slack.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)

    started, succeeded = fake_slack.received
    assert "started" in started["body"]["text"] and "succeeded" in succeeded["body"]["text"]
    assert started["at"] < distribution.finished_at.timestamp()
    assert distribution.status == Status.SUCCEEDED and distribution.issued_count == 150_000
    assert list(distribution.notifications.values_list("status", flat=True)) == ["sent", "sent"]


def test_it_resumes_exactly_after_the_worker_is_killed(postgres, warehouse, coupon, tmp_path):
    env = process_env(
        TRINO_HOST="127.0.0.1",
        TRINO_PORT=warehouse.port,
        DISTRIBUTION_CHUNK_SIZE=2000,
        DISTRIBUTION_WRITER="bulk_create",
        DISTRIBUTION_STALE_AFTER=3,
    )
    distribution = services.distribution_submit(
        actor=by(),
        distribution=DistributionRequest(
            coupon=coupon, source="warehouse", table="tpch.sf1.customer", column="custkey", memo="crash"
        ),
    )
    with qcluster(env, tmp_path / "killed.log") as first:
        while distribution.read_count < 30_000:
            time.sleep(0.05)
            distribution.refresh_from_db()
        os.killpg(first.pid, signal.SIGKILL)  # the whole cluster dies mid-run, as on a power cut
        first.wait()
    distribution.refresh_from_db()
    assert distribution.status == Status.RUNNING and distribution.read_count < 150_000

    time.sleep(3.5)  # the heartbeat goes stale
    with qcluster(env, tmp_path / "restarted.log"):
        services.distribution_queue_kick()  # what the every-minute watchdog does
        wait_until_finished([distribution])
    assert (
        distribution.status,
        distribution.read_count,
        distribution.issued_count,
        distribution.skipped_count,
        distribution.attempts,
    ) == (Status.SUCCEEDED, 150_000, 150_000, 0, 2)
    assert IssuedCoupon.objects.filter(coupon=coupon).count() == 150_000


def test_two_clusters_on_two_nodes_still_run_one_at_a_time_in_order(
    postgres, warehouse, memory_table, coupon, tmp_path
):
    tables = [
        memory_table(f"SELECT custkey AS user_id FROM tpch.sf1.customer WHERE custkey % 3 = {i}") for i in range(3)
    ]
    env = process_env(TRINO_HOST="127.0.0.1", TRINO_PORT=warehouse.port, DISTRIBUTION_CHUNK_SIZE=5000)
    with qcluster(env, tmp_path / "node-a.log"), qcluster(env, tmp_path / "node-b.log"):
        distributions = [
            services.distribution_submit(
                actor=by(),
                distribution=DistributionRequest(
                    coupon=coupon, source="warehouse", table=table, column="user_id", memo=f"node test {i}"
                ),
            )
            for i, table in enumerate(tables)
        ]
        wait_until_finished(distributions)
    assert [r.status for r in distributions] == [Status.SUCCEEDED] * 3
    assert sum(r.issued_count for r in distributions) == 150_000 == IssuedCoupon.objects.count()
    for earlier, later in zip(distributions, distributions[1:], strict=False):
        assert earlier.finished_at <= later.started_at  # never two at once, and first in, first out


def test_trino_dying_mid_stream_is_retried_by_itself_and_resumes_exactly(postgres, coupon, tmp_path, settings):
    # 1,500,000 order keys, about 92 arrays of a key block each: far more than the worker reads ahead, so the
    # stream still needs Trino when it dies (150,000 customer keys were 3 arrays, read whole before the stop).
    table, column, members = "tpch.sf1.orders", "orderkey", 1_500_000
    settings.DISTRIBUTION_APPROVAL_COUPONS = members  # queued at once: this test is about Trino, not approval

    def warehouse_env(server, **slow):
        settings.COUPONOPS_SOURCES = {
            **settings.COUPONOPS_SOURCES,
            "warehouse": {
                "kind": "trino",
                "host": "127.0.0.1",
                "port": server.port,
                "user": "test",
                "request_timeout": 5,
            },
        }
        return process_env(
            TRINO_HOST="127.0.0.1",
            TRINO_PORT=server.port,
            DISTRIBUTION_RETRY_WAIT=1,
            WORKER_HEARTBEAT_INTERVAL=0.5,  # the cluster's periodic look wakes the worker once the wait is over
            **slow,
        )

    try:
        doomed = TrinoServer().start()
    except TrinoUnavailable as exc:
        unavailable(f"no Trino server: {exc}")
    env = warehouse_env(doomed, DISTRIBUTION_CHUNK_SIZE=2000, DISTRIBUTION_WRITER="bulk_create")  # slow: mid-stream
    distribution = services.distribution_submit(
        actor=by(),
        distribution=DistributionRequest(
            coupon=coupon, source="warehouse", table=table, column=column, memo="trino dies"
        ),
    )
    assert distribution.status == Status.QUEUED
    with qcluster(env, tmp_path / "first.log"):
        wait_for(lambda: running_past(distribution, 20_000), what="progress")
        doomed.stop()
        wait_for(lambda: distribution.transitions.filter(action="retry_scheduled").exists(), what="a retry")
    distribution.refresh_from_db()
    assert (distribution.status, distribution.error_code) == (Status.QUEUED, "warehouse_unreachable"), (
        distribution.error_text
    )
    issued_before = distribution.issued_count
    assert issued_before == IssuedCoupon.objects.filter(coupon=coupon).count() < members

    revived = TrinoServer().start()
    try:
        with qcluster(warehouse_env(revived), tmp_path / "second.log"):
            wait_until_finished([distribution])  # nobody presses Retry
    finally:
        revived.stop()
    assert (distribution.status, distribution.read_count, distribution.issued_count, distribution.skipped_count) == (
        Status.SUCCEEDED,
        members,
        members,
        0,
    )
    assert IssuedCoupon.objects.filter(coupon=coupon).count() == members
