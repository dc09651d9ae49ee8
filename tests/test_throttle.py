"""The throttle: a run slows down or pauses for the members' sake and still issues exactly, and says why."""

import contextlib
import html
import http.server
import threading
import time

import psycopg2
import pytest
from django.db import connection, connections
from django.urls import reverse

from distribution import live, services, throttle
from distribution.models import DistributionRequest, IssuedCoupon, Transition
from distribution.services.throttling import distribution_pause, distribution_resume
from tests.helpers import by, wait_for

Status = DistributionRequest.Status
Action = Transition.Action


@pytest.fixture
def paced(settings, members):
    """Chunks of 10 of the 50 members, short pauses and checks: a run takes a few chunks and little time."""
    settings.DISTRIBUTION_CHUNK_SIZE = 10
    settings.THROTTLE_MIN_CHUNK = 5
    settings.THROTTLE_MAX_PAUSE = 0.05
    settings.THROTTLE_CHECK_INTERVAL = 0.05
    settings.THROTTLE_PROBE_INTERVAL = 0.01
    return members


def submit(coupon, table):
    distribution = DistributionRequest(coupon=coupon, source="demo", table=table, column="user_id", memo="throttle")
    return services.distribution_submit(distribution=distribution, actor=by())


class RunInThread:
    """The worker's run in a thread of its own (committed data only: transaction=True tests)."""

    def __init__(self):
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            services.distribution_run_queue()
        finally:
            connections.close_all()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.thread.join(timeout=120)
        assert not self.thread.is_alive(), "the run did not end"


def throttle_of(distribution):
    distribution.refresh_from_db()
    return distribution.throttle


def assert_exact(distribution, count=50):
    distribution.refresh_from_db()
    assert (distribution.status, distribution.read_count, distribution.issued_count) == (Status.SUCCEEDED, count, count)
    assert IssuedCoupon.objects.filter(distribution=distribution).count() == count
    assert distribution.throttle == {}


def throttled_signals(distribution):
    summary = Transition.objects.get(distribution=distribution, action=Action.THROTTLED)
    return summary.details["signals"]


class Redeeming:
    """A member redeeming and releasing a coupon of another coupon kind over and over, on a connection of its
    own: the writes a slow commit holds back."""

    def __init__(self):
        self.conn = psycopg2.connect(**connection.get_connection_params())
        self.conn.autocommit = True
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        cursor = self.conn.cursor()
        while not self.stopping.wait(0.01):
            cursor.execute(
                f"UPDATE {IssuedCoupon._meta.db_table} SET used_at = CASE WHEN used_at IS NULL THEN now() END "
                "WHERE coupon_id = -1 AND user_id = 1"
            )

    def __enter__(self):
        self.conn.cursor().execute(
            f"INSERT INTO {IssuedCoupon._meta.db_table} (coupon_id, user_id, issued_at, expires_at) "
            "VALUES (-1, 1, now(), now() + interval '1 day')"
        )
        self.thread.start()
        time.sleep(1.5)  # a busy session reports its counts about once a second
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join()
        self.conn.cursor().execute(f"DELETE FROM {IssuedCoupon._meta.db_table} WHERE coupon_id = -1")
        self.conn.close()


def test_a_run_slowed_by_the_members_latency_stays_exact_and_records_the_time(db, coupon, paced, settings):
    settings.THROTTLE_LATENCY_MS = 0.0001  # every probe is "slow": the run is slowed chunk after chunk
    settings.THROTTLE_MAX_ROWS_PER_SECOND = 20  # a run of 2.5 s: long enough to see the member's counts move
    with Redeeming():
        distribution = submit(coupon, paced)
        services.distribution_run_queue()
    assert_exact(distribution)
    assert distribution.throttled_seconds > 0
    assert "latency" in throttled_signals(distribution)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("redeeming", [False, True])
def test_the_probe_knows_whether_members_write_beside_the_run(postgres, coupon, redeeming):
    """A run alone slows its own commits and no one else's: the latency threshold waits for members' writes."""
    probe = probe_for(coupon)
    probe.interval = 0.05
    with Redeeming() if redeeming else contextlib.nullcontext():
        probe.start()
        try:
            assert probe.members_writing()  # not known yet: members may be writing
            time.sleep(probe.UNKNOWN_FOR + 1.5)
            assert probe.members_writing() == redeeming
        finally:
            probe.stop()


class SlowWebServer:
    """A web server in front of the members that answers each call after `delay` seconds."""

    def __init__(self, delay):
        delay_ = delay

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                time.sleep(delay_)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/healthz"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_run_slowed_by_the_members_calls_stays_exact(db, coupon, paced, settings):
    """The web server's queue, which the database probe cannot see, slows the run too."""
    web = SlowWebServer(delay=0.02)
    settings.THROTTLE_PROBE_URL, settings.THROTTLE_CALL_INTERVAL, settings.THROTTLE_CALL_LATENCY_MS = web.url, 0, 5
    try:
        distribution = submit(coupon, paced)
        services.distribution_run_queue()
    finally:
        web.close()
    assert_exact(distribution)
    assert "calls" in throttled_signals(distribution)


def test_a_web_server_that_is_down_does_not_hold_the_run(db, coupon, paced, settings):
    web = SlowWebServer(delay=0)
    web.close()  # nothing listens at its address any more
    settings.THROTTLE_PROBE_URL, settings.THROTTLE_CALL_INTERVAL = web.url, 0
    distribution = submit(coupon, paced)
    services.distribution_run_queue()
    assert_exact(distribution)
    assert distribution.throttled_seconds == 0


def test_a_run_with_the_throttle_off_is_never_slowed(db, coupon, paced, settings):
    settings.THROTTLE_ENABLED, settings.THROTTLE_LATENCY_MS = False, 0.0001
    distribution = submit(coupon, paced)
    services.distribution_run_queue()
    assert_exact(distribution)
    assert distribution.throttled_seconds == 0
    assert not Transition.objects.filter(distribution=distribution, action=Action.THROTTLED).exists()


@pytest.mark.django_db(transaction=True)
def test_a_run_pauses_while_sessions_wait_for_a_lock_and_finishes_once_they_stop(coupon, paced, settings):
    settings.THROTTLE_LOCK_WAITS, settings.THROTTLE_LOCK_WAITS_CRITICAL = 0.1, 0.5
    holder, waiter = (psycopg2.connect(**connection.get_connection_params()) for _ in range(2))
    holder.autocommit = waiter.autocommit = True
    holder.cursor().execute("SELECT pg_advisory_lock(4242)")
    waiting = threading.Thread(target=lambda: waiter.cursor().execute("SELECT pg_advisory_lock(4242)"))
    waiting.start()  # a session waiting for a lock, as a member's redeem behind a held row would
    try:
        distribution = submit(coupon, paced)
        with RunInThread():
            paused = wait_for(lambda: throttle_of(distribution).get("state") == "paused", what="a paused run")
            assert paused and throttle_of(distribution)["signal"] == "locks"
            distribution.refresh_from_db()
            assert "Paused: sessions waiting for a lock 1 > 0" in html.unescape(live.render(distribution, "progress"))
            holder.cursor().execute("SELECT pg_advisory_unlock(4242)")
            waiting.join()
    finally:
        holder.close(), waiter.close()
    assert_exact(distribution)
    assert "locks" in throttled_signals(distribution)


@pytest.mark.django_db(transaction=True)
def test_an_operator_pauses_and_resumes_a_running_request_from_its_page(coupon, paced, settings, marketer):
    settings.THROTTLE_MAX_ROWS_PER_SECOND = 25  # two seconds for 50 members: time to press the buttons
    distribution = submit(coupon, paced)
    change_url = reverse("admin:distribution_distributionrequest_change", args=[distribution.pk])
    with RunInThread():
        wait_for(lambda: DistributionRequest.objects.get(pk=distribution.pk).read_count > 0, what="a first chunk")
        assert 'id="pause"' in marketer.get(change_url).content.decode()
        pause_url = reverse("admin:distribution_distributionrequest_pause", args=[distribution.pk])
        assert marketer.post(pause_url).status_code == 302
        wait_for(lambda: throttle_of(distribution).get("state") == "held", what="the run held")
        page = marketer.get(change_url).content.decode()
        assert "Paused by an operator" in page and 'id="resume"' in page
        held_at = DistributionRequest.objects.get(pk=distribution.pk).read_count
        assert DistributionRequest.objects.get(pk=distribution.pk).read_count == held_at < 50
        resume_url = reverse("admin:distribution_distributionrequest_resume", args=[distribution.pk])
        assert marketer.post(resume_url).status_code == 302
    assert_exact(distribution)
    moves = list(
        Transition.objects.filter(distribution=distribution).order_by("at", "pk").values_list("action", flat=True)
    )
    assert moves.index(Action.PAUSED) < moves.index(Action.RESUMED) < moves.index(Action.SUCCEEDED)
    assert "held" in throttled_signals(distribution)


@pytest.mark.django_db(transaction=True)
def test_a_request_cancelled_while_paused_stops_with_exact_counts(coupon, paced, settings, staff_user):
    settings.THROTTLE_MAX_ROWS_PER_SECOND = 25
    distribution = submit(coupon, paced)
    with RunInThread():
        wait_for(lambda: DistributionRequest.objects.get(pk=distribution.pk).read_count > 0, what="a first chunk")
        assert distribution_pause(distribution=distribution, actor=by(staff_user))
        wait_for(lambda: throttle_of(distribution).get("state") == "held", what="the run held")
        assert services.distribution_cancel(distribution=distribution, actor=by(staff_user))
    distribution.refresh_from_db()
    assert distribution.status == Status.CANCELLED
    assert IssuedCoupon.objects.filter(distribution=distribution).count() == distribution.issued_count < 50


@pytest.mark.django_db(transaction=True)
def test_a_run_paused_longer_than_the_warehouse_waits_fails_and_a_retry_resumes_it(coupon, paced, settings):
    settings.THROTTLE_MAX_ROWS_PER_SECOND, settings.THROTTLE_HOLD_SECONDS = 25, 0.3
    distribution = submit(coupon, paced)
    with RunInThread():
        wait_for(lambda: DistributionRequest.objects.get(pk=distribution.pk).read_count > 0, what="a first chunk")
        assert distribution_pause(distribution=distribution, actor=by())
    distribution.refresh_from_db()
    assert distribution.status == Status.FAILED and "paused for more than" in distribution.error_message
    assert distribution_resume(distribution=distribution, actor=by())  # lifted first, or the retry holds again
    services.distribution_retry(distribution=distribution, actor=by())
    services.distribution_run_queue()
    assert_exact(distribution)


def test_the_live_note_says_what_slows_the_run(db, coupon, paced):
    distribution = submit(coupon, paced)
    distribution.status = Status.RUNNING
    distribution.throttle = {"state": "slowed", "signal": "latency", "value": 62.4, "limit": 40.0}
    assert "Slowed down: members' latency 62 ms > 40 ms" in html.unescape(live.render(distribution, "progress"))
    assert throttle.describe(distribution.throttle) == "Slowed down: members' latency 62 ms > 40 ms"
    assert throttle.describe({"state": "paused", "signal": "lag", "value": 12.34, "limit": 10.0}) == (
        "Paused: replica lag 12.3 s > 10.0 s"
    )
    distribution.status = Status.SUCCEEDED
    assert "throttle" not in live.render(distribution, "progress")


def test_metrics_show_the_time_throttled_and_what_holds_the_running_request(db, coupon, paced, client, settings):
    settings.METRICS_TOKEN = "metrics-token-for-tests"
    distribution = submit(coupon, paced)
    DistributionRequest.objects.filter(pk=distribution.pk).update(
        status=Status.RUNNING,
        throttled_seconds=12.5,
        throttle={"state": "slowed", "signal": "lag", "value": 2, "limit": 1},
    )
    text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token-for-tests").content.decode()
    assert "couponops_distribution_throttled_seconds_total 12.5" in text
    assert 'couponops_distribution_running_throttled{signal="lag",state="slowed"} 1.0' in text


def probe_for(coupon):
    return throttle.Probe(coupon_id=coupon.pk, worker_pid=0, interval=1)


@pytest.mark.django_db(transaction=True)
def test_the_probe_times_a_durable_commit_as_a_redeem_makes_one(postgres, coupon):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()")
        before = cursor.fetchone()[0]
        latency = probe_for(coupon)._timed(cursor)
        cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s)", [before])
        written = cursor.fetchone()[0]
    assert latency > 0 and written > 0  # the commit had WAL to flush, as a member's redeem has


@pytest.mark.django_db(transaction=True)
def test_a_role_that_may_not_write_the_wal_message_is_probed_by_its_look_up(postgres, coupon):
    probe = probe_for(coupon)
    with connection.cursor() as cursor:
        cursor.execute("DROP ROLE IF EXISTS probe_reader; CREATE ROLE probe_reader")
        cursor.execute("GRANT SELECT ON distribution_issuedcoupon TO probe_reader")
        cursor.execute("REVOKE EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) FROM PUBLIC")
        cursor.execute("SET ROLE probe_reader")
        try:
            latencies = [probe._timed(cursor), probe._timed(cursor)]
        finally:
            cursor.execute("RESET ROLE")
            cursor.execute("GRANT EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) TO PUBLIC")
            cursor.execute("DROP OWNED BY probe_reader; DROP ROLE probe_reader")
    assert not probe.commits and all(latency >= 0 for latency in latencies)
