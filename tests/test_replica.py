"""A real read replica: a streaming standby of the tests' PostgreSQL (tests/harness/postgres.py: Standby).

The standby sees only committed data, so these tests commit (transaction=True). Its lag is made on purpose
with pg_wal_replay_pause(), as an overloaded standby would fall behind.
"""

import time

import pytest
from django.conf import settings as django_settings
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from common import replica
from distribution.models import DistributionRequest, IssuedCoupon
from tests.api_helpers import api_key, bearer, hold
from tests.conftest import unavailable
from tests.harness.postgres import Standby
from tests.helpers import wait_for
from tests.test_throttle import RunInThread, assert_exact, submit, throttle_of, throttled_signals

# A mirror of `default` for Django's test machinery: never flushed, never created, only read.
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@pytest.fixture(scope="module", autouse=True)
def standby(request, django_db_setup):
    """A standby of the tests' PostgreSQL as DATABASES['replica'] (the same test database, replicated),
    added before pytest-django sets up each test, so that the tests may use the alias."""
    primary = getattr(request.config, "couponops_postgres", None)
    if primary is None:
        unavailable("the replica tests start a standby of the tests' own PostgreSQL (DATABASE_URL was given)")
    server = Standby(primary).start()
    default = connections["default"].settings_dict
    alias = {**default, "HOST": "127.0.0.1", "PORT": server.port, "TEST": {**default["TEST"], "MIRROR": "default"}}
    django_settings.DATABASES["replica"] = connections.settings["replica"] = alias
    yield server
    connections["replica"].close()
    django_settings.DATABASES.pop("replica", None)
    connections.settings.pop("replica", None)
    server.stop()


@pytest.fixture(autouse=True)
def replay_resumed():
    yield
    on_standby("SELECT pg_wal_replay_resume()")


def on_standby(sql):
    with connections["replica"].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def caught_up():
    """Waits until the standby has replayed everything the primary has written so far: the insert position,
    since with synchronous_commit=off (the tests' cluster) a commit's WAL is written a moment later."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()")
        lsn = cursor.fetchone()[0]
    wait_for(lambda: on_standby(f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn"), what="the standby")


def wallet(client, key, user_id):
    response = client.get(f"/api/v1/members/{user_id}/coupons?status=all", **bearer(key))
    assert response.status_code == 200
    return {row["code"]: row["status"] for row in response.json()["coupons"]}


def test_a_wallet_is_read_from_the_standby(client, coupon):
    _client, key = api_key()
    hold(coupon, 7)
    caught_up()
    with CaptureQueriesContext(connections["replica"]) as read_there:
        assert wallet(client, key, 7) == {coupon.code: "usable"}
    assert on_standby("SELECT pg_is_in_recovery()")  # the connection that answered is the standby's
    assert any(IssuedCoupon._meta.db_table in query["sql"] for query in read_there.captured_queries)


def test_a_redeem_and_the_wallet_after_it_read_the_primary_while_the_standby_lags(client, coupon, settings):
    settings.DATABASE_REPLICA_MAX_LAG = 0.2
    _client, key = api_key()
    hold(coupon, 8)
    caught_up()
    on_standby("SELECT pg_wal_replay_pause()")
    response = client.post(
        f"/api/v1/members/8/coupons/{coupon.code}/redeem",
        {"order_id": "order-1"},
        content_type="application/json",
        **bearer(key),
    )
    assert response.status_code == 200
    wait_for(lambda: (replica.lag_seconds() or 0) > 0.2, what="the standby behind")
    assert wallet(client, key, 8) == {coupon.code: "used"}  # the member sees their own redeem
    assert IssuedCoupon.objects.using("replica").get(coupon=coupon, user_id=8).used_at is None  # the standby lags


def test_a_run_pauses_while_the_standby_falls_behind_and_finishes_when_it_catches_up(coupon, members, settings):
    settings.DISTRIBUTION_CHUNK_SIZE, settings.THROTTLE_CHECK_INTERVAL = 10, 0.05
    settings.THROTTLE_REPLICA_LAG, settings.THROTTLE_REPLICA_LAG_CRITICAL = 0.1, 0.3
    distribution = submit(coupon, members)
    caught_up()
    on_standby("SELECT pg_wal_replay_pause()")
    # The lag is the age of the last transaction replayed once newer WAL arrives: let it age past the critical
    # value first, or a fast run's five chunks can all land before the lag has grown (the suite saw that once).
    time.sleep(2 * settings.THROTTLE_REPLICA_LAG_CRITICAL)
    with RunInThread():
        wait_for(lambda: throttle_of(distribution).get("state") == "paused", what="a paused run")
        assert throttle_of(distribution)["signal"] == "lag"
        assert DistributionRequest.objects.get(pk=distribution.pk).read_count < 50
        on_standby("SELECT pg_wal_replay_resume()")
    assert_exact(distribution)
    assert "lag" in throttled_signals(distribution)
