"""A schedule's run under kill -9, on a real qcluster: the due time fires once and the run issues exactly.

The crash harness of test_crashes: the cluster SIGKILLs itself at a named point (distribution/failpoints.py),
a fresh cluster takes over."""

import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db.models import Count
from django.utils import timezone
from django_q.tasks import async_task

from campaigns import services
from campaigns.models import Schedule, ScheduleRun
from distribution import services as distribution_services
from distribution.models import DistributionRequest, IssuedCoupon
from tests.harness.cluster import process_env, qcluster
from tests.helpers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
MEMBERS = 300_000  # six chunks of 50,000


@pytest.fixture
def env(warehouse):
    return process_env(
        TRINO_HOST="127.0.0.1",
        TRINO_PORT=warehouse.port,
        DISTRIBUTION_CHUNK_SIZE=50_000,
        DISTRIBUTION_STALE_AFTER=2,
        Q_CLUSTER_NAME="couponops",
    )


@pytest.fixture
def due_schedule(memory_table, coupon, django_user_model):
    """A daily schedule over a 300,000-member table whose time came a minute ago."""
    table = memory_table("SELECT custkey AS user_id FROM tpch.sf2.customer")  # ids 1..300,000
    owner = django_user_model.objects.create_user("owner", password="pw-for-tests-only", is_staff=True)
    owner.user_permissions.add(Permission.objects.get(codename="add_distributionrequest"))
    schedule = Schedule(
        name="Welcome",
        coupon=coupon,
        source="warehouse",
        table=table,
        column="user_id",
        memo="crash test",
        at_time=timezone.localtime().time().replace(second=0, microsecond=0),
        max_coupons=1_000_000,
        owner=owner,
    )
    services.schedule_save(schedule=schedule)
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=timezone.now() - timedelta(minutes=1))
    return schedule


def tick():
    """What the every-minute django-q2 schedule does."""
    async_task("campaigns.tasks.run_due_schedules", task_name="campaigns-due-schedules")


def assert_one_exact_run(schedule):
    run = ScheduleRun.objects.get(schedule=schedule)
    distribution = DistributionRequest.objects.get()
    assert run.distribution == distribution
    assert (distribution.status, distribution.read_count, distribution.issued_count, distribution.skipped_count) == (
        DistributionRequest.Status.SUCCEEDED,
        MEMBERS,
        MEMBERS,
        0,
    )
    coupons = IssuedCoupon.objects.filter(coupon_id=distribution.coupon_id)
    assert coupons.count() == MEMBERS
    assert not coupons.values("user_id").annotate(n=Count("*")).filter(n__gt=1).exists()
    return distribution


def finish(env, log_path):
    with qcluster(env, log_path):
        tick()  # finds nothing due: the time that was fired is not fired again
        distribution_services.distribution_queue_kick()  # what the every-minute watchdog does
        wait_for(
            lambda: DistributionRequest.objects.filter(status=DistributionRequest.Status.SUCCEEDED).exists(),
            what="the resumed run",
            timeout=600,
        )


def test_a_scheduled_run_killed_mid_run_resumes_and_issues_exactly_once(postgres, env, due_schedule, tmp_path):
    with qcluster({**env, "COUPONOPS_FAILPOINT": "chunk:committed@3"}, tmp_path / "killed.log") as doomed:
        tick()
        doomed.wait(600)  # a loaded machine: the preview and three chunks take their time
    distribution = DistributionRequest.objects.get()
    assert distribution.status == DistributionRequest.Status.RUNNING, (tmp_path / "killed.log").read_text()[-3000:]
    assert distribution.read_count == 150_000

    time.sleep(2.2)  # its heartbeat goes stale
    finish(env, tmp_path / "restarted.log")
    assert assert_one_exact_run(due_schedule).attempts == 2


def test_a_worker_killed_while_firing_fires_the_due_time_once_after_restart(postgres, env, due_schedule, tmp_path):
    with qcluster({**env, "COUPONOPS_FAILPOINT": "schedule:fired"}, tmp_path / "killed.log") as doomed:
        tick()
        doomed.wait(600)  # a loaded machine: the preview and three chunks take their time
    assert not ScheduleRun.objects.exists() and not DistributionRequest.objects.exists()  # rolled back together
    due_schedule.refresh_from_db()
    assert due_schedule.next_run_at < timezone.now()  # still due

    with qcluster(env, tmp_path / "restarted.log"):
        tick()
        wait_for(
            lambda: DistributionRequest.objects.filter(status=DistributionRequest.Status.SUCCEEDED).exists(),
            what="the run",
            timeout=600,
        )
        tick()  # a second look, after the first fired: nothing more
        time.sleep(1)
    assert_one_exact_run(due_schedule)
