"""DISTRIBUTION_WRITER=http on real parts: a second couponops serves the Coupon API under gunicorn on its own
PostgreSQL database (the "coupon service"), a fault-injecting proxy sits between, and the distribution reads
its audience from the real Trino. Whatever the faults, the service ends with exactly one coupon per member
and the request's counts match the service's own."""

import os

import pytest
from django.db import connection

from distribution import services
from distribution.models import Coupon, DistributionRequest
from tests.harness.cluster import database_url, process_env, qcluster
from tests.harness.faultproxy import FaultProxy
from tests.harness.service import CouponService
from tests.harness.web import gunicorn
from tests.helpers import by, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
Status = DistributionRequest.Status
MEMBERS = 30_000


@pytest.fixture(scope="module")
def service_database(django_db_blocker):
    """A second database on the test cluster, migrated as the coupon service's own, with the writer's key."""
    with django_db_blocker.unblock():
        env = process_env()
        coupon_service = CouponService.create(database_url(), env)
        yield coupon_service.database, coupon_service.key, {**env, "DATABASE_URL": coupon_service.database}


@pytest.fixture(scope="module")
def service_server(service_database, tmp_path_factory):
    url, key, env = service_database
    with gunicorn({**env, "CONN_MAX_AGE": "60"}, tmp_path_factory.mktemp("service") / "gunicorn.log") as server:
        yield server


@pytest.fixture
def service(service_database, service_server):
    url, key, _env = service_database
    proxy = FaultProxy(service_server.url, hang_seconds=4).start()
    coupon_service = CouponService(url, key)
    coupon_service.proxy = proxy
    yield coupon_service
    proxy.stop()


@pytest.fixture
def http_writer(settings, service):
    settings.DISTRIBUTION_WRITER, settings.COUPON_API_URL, settings.COUPON_API_KEY = (
        "http",
        service.proxy.url,
        service.key,
    )
    settings.COUPON_API_TIMEOUT, settings.COUPON_API_ATTEMPTS, settings.COUPON_API_RETRY_FOR = 2, 6, 60
    settings.DISTRIBUTION_CHUNK_SIZE = 12_000
    return settings


@pytest.fixture
def audience(memory_table):
    return memory_table(f"SELECT custkey * 7 AS user_id FROM tpch.sf1.customer WHERE custkey <= {MEMBERS}")


_codes = iter(range(1, 10_000))


def new_coupon(service):
    code = f"HTTP{next(_codes)}X{os.getpid()}"
    service.add_coupon(code)
    return Coupon.objects.create(name=code, code=code, discount_kind="percent", discount_amount=10, valid_days=14)


def distribute(coupon, table):
    distribution = services.distribution_submit(
        actor=by(),
        distribution=DistributionRequest(
            coupon=coupon, source="warehouse", table=table, column="user_id", memo="http writer"
        ),
    )
    services.distribution_run_queue()
    distribution.refresh_from_db()
    return distribution


def assert_exact(service, distribution, issued=MEMBERS):
    """One coupon per member in the service, and the request's counts are the service's."""
    assert service.holders(distribution.coupon.code) == (issued, issued)
    assert (distribution.status, distribution.read_count) == (Status.SUCCEEDED, MEMBERS)
    assert distribution.issued_count + distribution.reissued_count == issued
    assert distribution.issued_count + distribution.reissued_count + distribution.skipped_count == MEMBERS


def test_it_distributes_into_the_coupon_service_with_exact_counts(http_writer, service, audience, warehouse):
    coupon = new_coupon(service)
    distribution = distribute(coupon, audience)
    assert_exact(service, distribution)
    keys = [key for _path, _fault, key in service.proxy.calls]
    assert len(keys) == len(set(keys)) == 5  # chunks of 12,000, 12,000, 6,000: calls of at most 10,000

    again = distribute(coupon, audience)  # everyone holds it: the service says so, nothing more is issued
    assert (again.issued_count, again.skipped_count) == (0, MEMBERS)
    assert service.holders(coupon.code) == (MEMBERS, MEMBERS)


@pytest.mark.parametrize(
    "faults", [("429", "429"), ("500", "500", "500"), ("hang",), ("drop",), ("drop", "429", "hang", "500")]
)
def test_faults_between_writer_and_service_never_issue_twice(http_writer, service, audience, warehouse, faults):
    service.proxy.then(*faults)
    coupon = new_coupon(service)
    distribution = distribute(coupon, audience)
    assert_exact(service, distribution)
    faulted = [call for call in service.proxy.calls if call[1] != "forwarded"]
    assert [fault for _path, fault, _key in faulted] == list(faults)
    retried_keys = {key for _path, _fault, key in faulted}
    forwarded = [key for _path, fault, key in service.proxy.calls if fault == "forwarded"]
    assert retried_keys <= set(forwarded)  # every faulted call was sent again with its own key


def worker_env(service, warehouse, **extra):
    return process_env(
        TRINO_HOST="127.0.0.1",
        TRINO_PORT=warehouse.port,
        DISTRIBUTION_WRITER="http",
        COUPON_API_URL=service.proxy.url,
        COUPON_API_KEY=service.key,
        DISTRIBUTION_CHUNK_SIZE=6_000,
        WORKER_HEARTBEAT_INTERVAL=0.5,  # the cluster's periodic look at the queue
        **extra,
    )


def submit(coupon, table, memo):
    return services.distribution_submit(
        actor=by(),
        distribution=DistributionRequest(coupon=coupon, source="warehouse", table=table, column="user_id", memo=memo),
    )


def test_a_service_down_past_its_retry_window_resumes_by_itself_exactly(service, audience, warehouse, tmp_path):
    """Seven minutes' outage against a two-minute retry window, scaled down: 6 s against 1 s."""
    coupon = new_coupon(service)
    env = worker_env(
        service,
        warehouse,
        COUPON_API_ATTEMPTS=3,
        COUPON_API_RETRY_FOR=1,
        DISTRIBUTION_RETRY_WAIT=0.5,
        DISTRIBUTION_RETRY_TIMES=8,
    )
    service.proxy.then("forwarded-1", "forwarded-2", "forwarded-3", "down:6")  # down from the fourth call of five
    distribution = submit(coupon, audience, "outage")
    with qcluster(env, tmp_path / "cluster.log"):
        wait_for(lambda: DistributionRequest.objects.get(pk=distribution.pk).is_finished, what="the run's end")
    distribution.refresh_from_db()
    assert_exact(service, distribution)
    actions = set(distribution.transitions.values_list("action", flat=True))
    assert "retry_scheduled" in actions and "retried" not in actions and "failed" not in actions


def test_a_chunk_slower_than_the_lease_keeps_it(service, audience, warehouse, tmp_path):
    """Calls held past their time-out and retried make one chunk last longer than the whole lease."""
    coupon = new_coupon(service)
    env = worker_env(
        service,
        warehouse,
        COUPON_API_TIMEOUT=1.5,
        DISTRIBUTION_STALE_AFTER=4,  # not shorter: on a loaded machine a process may not run for a second or two
        DISTRIBUTION_LEASE_INTERVAL=0.5,
    )
    service.proxy.then(*["hang"] * 4)  # a chunk of 6,000 is one call: held four times of its six attempts, 6 s or more
    distribution = submit(coupon, audience, "slow chunk")
    with qcluster(env, tmp_path / "cluster.log"):
        wait_for(lambda: DistributionRequest.objects.get(pk=distribution.pk).is_finished, what="the run's end")
    distribution.refresh_from_db()
    assert_exact(service, distribution)
    history = list(distribution.transitions.order_by("at", "pk").values_list("action", "details"))
    assert distribution.attempts == 1 and not distribution.transitions.filter(action="taken_over").exists(), history


@pytest.mark.parametrize("fault, words", [("401", "answered 401"), ("404", "answered 404")])
def test_a_refusal_fails_the_run_at_once_with_the_services_message(
    http_writer, service, audience, warehouse, fault, words
):
    coupon = new_coupon(service)
    service.proxy.then(*[fault] * 10)
    distribution = distribute(coupon, audience)
    assert distribution.status == Status.FAILED and words in distribution.error_message
    assert len(service.proxy.calls) <= 3  # not retried: each in-flight call tried once
    assert distribution.issued_count == 0


def test_a_wrong_key_is_refused_by_the_real_service(http_writer, service, audience, warehouse):
    http_writer.COUPON_API_KEY = "cpo_wrong_key"
    coupon = new_coupon(service)
    distribution = distribute(coupon, audience)
    assert distribution.status == Status.FAILED and "401" in distribution.error_message
    assert service.holders(coupon.code) == (0, 0)


def test_a_worker_killed_mid_run_resumes_exactly(http_writer, service, audience, warehouse, tmp_path):
    coupon = new_coupon(service)
    env = process_env(
        TRINO_HOST="127.0.0.1",
        TRINO_PORT=warehouse.port,
        DISTRIBUTION_WRITER="http",
        COUPON_API_URL=service.proxy.url,
        COUPON_API_KEY=service.key,
        DISTRIBUTION_CHUNK_SIZE=6_000,
        COUPONOPS_FAILPOINT="chunk:written@3",
    )  # the service issued the chunk; we had not recorded it
    distribution = services.distribution_submit(
        actor=by(),
        distribution=DistributionRequest(
            coupon=coupon, source="warehouse", table=audience, column="user_id", memo="kill -9"
        ),
    )
    with qcluster(env, tmp_path / "killed.log") as process:
        process.wait(120)
    distribution.refresh_from_db()
    assert distribution.status == Status.RUNNING and distribution.read_count == 12_000
    assert service.holders(coupon.code)[0] == 18_000  # the third chunk landed in the service

    DistributionRequest.objects.filter(pk=distribution.pk).update(heartbeat_at="2000-01-01T00:00:00Z")
    env.pop("COUPONOPS_FAILPOINT")
    with qcluster(env, tmp_path / "resumed.log"):
        services.distribution_queue_kick()
        wait_for(lambda: DistributionRequest.objects.get(pk=distribution.pk).is_finished, what="the resumed run")
    distribution.refresh_from_db()
    assert_exact(service, distribution)
    assert distribution.issued_count == MEMBERS  # the resent chunk got its stored answer: counted once, as issued


def test_the_database_under_test_is_not_the_services(service):
    assert connection.settings_dict["NAME"] not in service.database


def test_the_preview_says_the_service_counts_the_holders(http_writer, service, audience, warehouse, client, staff_user):
    coupon = new_coupon(service)
    draft = services.distribution_draft(
        actor=by(staff_user),
        distribution=DistributionRequest(
            coupon=coupon, source="warehouse", table=audience, column="user_id", memo="preview"
        ),
    )
    assert (draft.target_count, draft.held_count, draft.preview_reissue_count) == (MEMBERS, None, None)
    client.force_login(staff_user)
    page = client.get(f"/admin/distribution/distributionrequest/{draft.pk}/change/").content.decode()
    assert "counted by the coupon service during the run" in page
