"""Process deaths and shutdowns in the middle of a 1,500,000-coupon distribution, on a real qcluster.

Each crash is a SIGKILL of the whole cluster at a named point of the run (distribution/failpoints.py);
then a fresh cluster starts, takes the orphaned run over once its heartbeat is stale, and finishes it.
"""

import itertools
import os
import signal
import time

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from trino.exceptions import TrinoUserError

from distribution import services
from distribution.models import Coupon, DistributionRequest, IssuedCoupon
from tests.conftest import unavailable
from tests.harness.cluster import process_env, qcluster
from tests.helpers import by, running_past, wait_for

Status = DistributionRequest.Status
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ORDERS = 1_500_000  # distinct order keys in tpch.sf1.orders: the audience
CHUNKS = 15  # at 100,000 ids a chunk
_codes = itertools.count(1)

KILL_POINTS = [
    "run:start",  # claimed and announced, nothing read
    "read:batch@1",  # the first ids have arrived, nothing written
    "read:batch@7",  # mid-stream: Trino still sending, six chunks in
    "copy:streaming@2",  # inside the first chunk's COPY, half the rows sent
    "copy:streaming@25",  # inside a later COPY
    "chunk:written@4",  # COPY done, progress not yet recorded
    "chunk:recorded@5",  # recording progress: written and recorded, not committed
    "chunk:committed@3",  # between two chunks
    f"chunk:committed@{CHUNKS}",  # right after the last chunk committed
    "finish:recorded",  # the success written but not committed
]


def submit(coupon):
    return services.distribution_submit(
        actor=by(),
        distribution=DistributionRequest(
            coupon=coupon, source="warehouse", table="tpch.sf1.orders", column="orderkey", memo="crash test"
        ),
    )


def fresh_coupon():
    return Coupon.objects.create(
        name="Crash", code=f"CRASH{next(_codes)}", discount_kind="percent", discount_amount=5, valid_days=7
    )


def assert_exact(distribution):
    distribution.refresh_from_db()
    assert (distribution.status, distribution.read_count, distribution.issued_count, distribution.skipped_count) == (
        Status.SUCCEEDED,
        ORDERS,
        ORDERS,
        0,
    )
    assert IssuedCoupon.objects.filter(coupon_id=distribution.coupon_id).count() == ORDERS
    assert (
        not IssuedCoupon.objects.filter(coupon_id=distribution.coupon_id)
        .values("user_id")
        .annotate(n=Count("*"))
        .filter(n__gt=1)
        .exists()
    )
    assert not DistributionRequest.objects.filter(status=Status.RUNNING).exists()


@pytest.fixture
def env(warehouse, settings):
    settings.DISTRIBUTION_APPROVAL_COUPONS = 0  # no manager in the loop here
    return process_env(
        TRINO_HOST="127.0.0.1",
        TRINO_PORT=warehouse.port,
        DISTRIBUTION_CHUNK_SIZE=100_000,
        DISTRIBUTION_STALE_AFTER=2,
        DISTRIBUTION_RETRY_WAIT=0.5,  # a transient failure waits half a second, then a second …
        WORKER_HEARTBEAT_INTERVAL=0.5,  # the cluster's periodic look: take-overs, wake-ups after a wait
        Q_CLUSTER_NAME="couponops",
    )


@pytest.mark.parametrize("point", KILL_POINTS)
def test_it_resumes_exactly_after_the_worker_is_killed_at(point, postgres, env, tmp_path):
    distribution = submit(fresh_coupon())
    with qcluster({**env, "COUPONOPS_FAILPOINT": point}, tmp_path / "killed.log") as doomed:
        doomed.wait(120)  # the failpoint kills the cluster's whole process group
    distribution.refresh_from_db()
    assert distribution.status == Status.RUNNING, (tmp_path / "killed.log").read_text()[-3000:]

    time.sleep(2.2)  # its heartbeat goes stale
    with qcluster(env, tmp_path / "restarted.log"):
        services.distribution_queue_kick()  # what the every-minute watchdog does
        wait_for(lambda: DistributionRequest.objects.get(pk=distribution.pk).is_finished, what="the resumed run")
    assert_exact(distribution)
    assert distribution.attempts == 2


@pytest.mark.parametrize("whom", ["main process", "process group"])  # systemd's KillMode=mixed, control-group
def test_a_graceful_stop_ends_at_a_chunk_and_the_next_start_resumes_at_once(whom, postgres, env, tmp_path):
    distribution = submit(fresh_coupon())
    with qcluster(env, tmp_path / "first.log") as cluster:
        wait_for(lambda: DistributionRequest.objects.get(pk=distribution.pk).read_count >= 300_000, what="progress")
        if whom == "main process":
            cluster.send_signal(signal.SIGTERM)
        else:
            os.killpg(cluster.pid, signal.SIGTERM)
        cluster.wait(60)
    distribution.refresh_from_db()
    assert distribution.status == Status.QUEUED and 300_000 <= distribution.read_count < ORDERS
    assert distribution.read_count == IssuedCoupon.objects.filter(coupon_id=distribution.coupon_id).count()

    with qcluster(env, tmp_path / "second.log"):
        services.distribution_queue_kick()
        wait_for(lambda: DistributionRequest.objects.get(pk=distribution.pk).is_finished, what="the resumed run")
    assert_exact(distribution)


def assert_failed_then_retry_resumes(distribution, errors, env, tmp_path):
    """The distribution failed naming the error, with exactly its committed chunks issued; a retry finishes it
    exactly. `errors`: the exception class names that may stand first in the message."""
    distribution.refresh_from_db()
    assert distribution.status == Status.FAILED and distribution.error_message.startswith(errors)
    assert IssuedCoupon.objects.filter(coupon_id=distribution.coupon_id).count() == distribution.issued_count < ORDERS
    assert services.distribution_retry(actor=by(), distribution=distribution)
    with qcluster(env, tmp_path / "retried.log"):
        wait_for(lambda: DistributionRequest.objects.get(pk=distribution.pk).is_finished, what="the retried run")
    assert_exact(distribution)


def resumed_by_itself(distribution):
    """The run ended exactly without anyone pressing Retry: retried after a wait, or taken over."""
    assert_exact(distribution)
    actions = set(distribution.transitions.values_list("action", flat=True))
    assert actions & {"retry_scheduled", "taken_over"} and "retried" not in actions, actions


def test_a_killed_database_connection_resumes_by_itself_exactly(postgres, env, tmp_path):
    distribution = submit(fresh_coupon())
    with qcluster(env, tmp_path / "first.log"):
        wait_for(lambda: running_past(distribution, 300_000), what="progress")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        wait_for(lambda: DistributionRequest.objects.get(pk=distribution.pk).is_finished, what="the resumed run")
    resumed_by_itself(distribution)


def test_a_database_restart_mid_run_resumes_by_itself_exactly(postgres, env, tmp_path, pytestconfig):
    server = getattr(pytestconfig, "couponops_postgres", None)
    if server is None:
        unavailable("the database is not the suite's throwaway cluster, so it cannot be restarted")
    distribution = submit(fresh_coupon())
    with qcluster(env, tmp_path / "first.log"):
        wait_for(lambda: running_past(distribution, 300_000), what="progress")
        server.restart()
        connection.close()
        wait_for(lambda: DistributionRequest.objects.get(pk=distribution.pk).is_finished, what="the resumed run")
    resumed_by_itself(distribution)


def test_a_trino_query_killed_mid_stream_fails_clearly_and_a_retry_resumes_exactly(postgres, env, warehouse, tmp_path):
    distribution = submit(fresh_coupon())
    with qcluster(env, tmp_path / "first.log"):
        wait_for(lambda: running_past(distribution, 300_000), what="progress")
        # Every unfinished id stream: the worker's, and any a killed worker of an earlier test left behind.
        streams = warehouse.execute(
            "SELECT query_id FROM system.runtime.queries WHERE state NOT IN "
            "('FINISHED', 'FAILED') AND query LIKE '%ORDER BY user_id%'"
        )
        assert streams, warehouse.execute("SELECT state, query FROM system.runtime.queries")
        for (query_id,) in streams:
            try:
                warehouse.execute(
                    f"CALL system.runtime.kill_query(query_id => '{query_id}', message => 'abandoned by the test')"
                )
            except TrinoUserError as exc:  # an orphan that Trino gave up on meanwhile
                assert "not running" in exc.message
        wait_for(lambda: DistributionRequest.objects.get(pk=distribution.pk).is_finished, what="the failure")
    assert_failed_then_retry_resumes(distribution, "Trino reported ADMINISTRATIVELY_KILLED", env, tmp_path)


@pytest.mark.parametrize(
    "audience, point",
    [
        # The corrected audience covers the old one: one key-range UPDATE per chunk; killed before the second.
        ("SELECT custkey AS user_id FROM tpch.sf1.customer", "reissue:updating@2"),
        # Odd ids only: the chunk's ids are listed, two UPDATEs per chunk; killed between the first two.
        ("SELECT custkey AS user_id FROM tpch.sf1.customer WHERE custkey % 2 = 1", "reissue:updating@2"),
    ],
    ids=["range-form", "listed-ids-inside-a-chunk"],
)
def test_a_reissue_killed_at_any_point_resumes_exactly(audience, point, postgres, env, memory_table, tmp_path):
    """Revoke, then distribute again, with the worker killed mid-re-issue: no duplicate, nothing re-issued
    twice, used coupons untouched, and the counts exact."""
    coupon, used = fresh_coupon(), 1_000
    first = services.distribution_submit(
        actor=by(),
        distribution=DistributionRequest(
            coupon=coupon,
            source="warehouse",
            column="user_id",
            memo="first",
            table=memory_table("SELECT custkey AS user_id FROM tpch.sf1.customer WHERE custkey <= 100000"),
        ),
    )
    services.distribution_run_queue()
    IssuedCoupon.objects.filter(coupon=coupon, user_id__lte=used).update(used_at=timezone.now())
    services.distribution_revoke(distribution=first, actor=by())
    services.distribution_run_queue()
    second = services.distribution_submit(
        actor=by(),
        distribution=DistributionRequest(
            coupon=coupon, source="warehouse", table=memory_table(audience), column="user_id", memo="corrected"
        ),
    )
    env = {**env, "DISTRIBUTION_CHUNK_SIZE": "50000"}

    with qcluster({**env, "COUPONOPS_FAILPOINT": point}, tmp_path / "killed.log") as doomed:
        doomed.wait(120)
    second.refresh_from_db()
    assert second.status == Status.RUNNING, (tmp_path / "killed.log").read_text()[-3000:]
    time.sleep(2.2)
    with qcluster(env, tmp_path / "restarted.log"):
        services.distribution_queue_kick()
        wait_for(lambda: DistributionRequest.objects.get(pk=second.pk).is_finished, what="the resumed run")

    members = set(range(1, 150_001, 2 if "% 2" in audience else 1))
    held, revoked = set(range(1, used + 1)), set(range(used + 1, 100_001))
    second.refresh_from_db()
    assert (second.status, second.read_count, second.issued_count, second.reissued_count, second.skipped_count) == (
        Status.SUCCEEDED,
        len(members),
        len(members - held - revoked),
        len(members & revoked),
        len(members & held),
    )
    rows = IssuedCoupon.objects.filter(coupon=coupon)
    assert rows.count() == len(members | held | revoked)
    assert rows.filter(deleted_at__isnull=False).count() == len(revoked - members)
    assert rows.filter(distribution=second).count() == len(members - held)
    assert rows.filter(distribution=first, used_at__isnull=False).count() == used
