"""Operations against real processes: /metrics while a real worker distributes, /healthz with the database
up and unreachable, the worker-liveness command with a live and a dead worker, JSON log lines."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from common.heartbeat import heartbeat_record
from distribution import services
from distribution.models import DistributionRequest
from notifications.models import Notification
from tests.harness.cluster import ROOT, manage, process_env, qcluster
from tests.harness.postgres import free_port
from tests.helpers import by, wait_for

Status = DistributionRequest.Status
TOKEN = "metrics-token-for-tests"


def get(url, token=None):
    """(status, body) of a GET; errors are answers too."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def scrape(base_url):
    """{(metric sample name, frozenset(labels)): value} from a real HTTP scrape of /metrics."""
    status, body = get(f"{base_url}/metrics", TOKEN)
    assert status == 200, body
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_metrics_move_while_a_real_worker_runs_a_distribution(
    live_server, settings, postgres, warehouse, coupon, tmp_path
):
    settings.METRICS_TOKEN = TOKEN
    env = process_env(
        TRINO_HOST="127.0.0.1",
        TRINO_PORT=warehouse.port,
        DISTRIBUTION_CHUNK_SIZE=2000,
        DISTRIBUTION_WRITER="bulk_create",
        WORKER_HEARTBEAT_INTERVAL=0.5,
    )
    before = scrape(live_server.url)
    assert value(before, "couponops_coupons_issued_total") == 0
    assert value(before, "couponops_distribution_running") == 0
    with qcluster(env, tmp_path / "worker.log"):
        distribution = services.distribution_submit(
            actor=by(),
            distribution=DistributionRequest(
                coupon=coupon, source="warehouse", table="tpch.sf1.customer", column="custkey", memo="metrics"
            ),
        )
        first = wait_for(
            lambda: (s := scrape(live_server.url)) and value(s, "couponops_distribution_running_read_rows") and s,
            what="a running request",
        )
        later = wait_for(
            lambda: (
                (s := scrape(live_server.url))
                and (value(s, "couponops_distribution_running_read_rows") or 150_000)
                > value(first, "couponops_distribution_running_read_rows")
                and s
            ),
            what="the read count to move",
        )
        wait_for(lambda: distribution.refresh_from_db() or distribution.is_finished, what="the distribution to finish")
        after = scrape(live_server.url)

    assert value(first, "couponops_distribution_running") == 1
    assert value(first, "couponops_distribution_requests", status="running") == 1
    assert value(first, "couponops_distribution_running_target_rows") == 150_000
    assert value(first, "couponops_distribution_running_rows_per_second") > 0
    assert value(first, "couponops_worker_heartbeat_age_seconds", cluster="couponops") < 30
    assert 0 < value(first, "couponops_coupons_issued_total") <= value(later, "couponops_coupons_issued_total")
    assert distribution.status == Status.SUCCEEDED
    assert value(after, "couponops_distribution_running") == 0
    assert value(after, "couponops_distribution_requests", status="succeeded") == 1
    assert value(after, "couponops_coupons_issued_total") == 150_000
    assert value(after, "couponops_distribution_runs_failed_total") == 0
    assert (
        value(after, "couponops_http_request_duration_seconds_count", view="metrics", method="GET", status="2xx") >= 3
    )


def test_metrics_are_off_without_a_token_and_closed_to_a_wrong_one(client, settings, db):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_HOST="localhost").status_code == 404
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics", HTTP_HOST="localhost").status_code == 401
    wrong = client.get("/metrics", HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x")
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_failed_runs_and_the_outbox_backlog_are_counted(
    client, settings, postgres, coupon, django_capture_on_commit_callbacks
):
    settings.METRICS_TOKEN, settings.SLACK_WEBHOOK_URL = TOKEN, "http://127.0.0.1:9/never-answers"
    distribution = DistributionRequest.objects.create(
        coupon=coupon, source="warehouse", table="t", column="c", memo="m", status=Status.RUNNING, attempts=1
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.distribution_fail(distribution=distribution, error=RuntimeError("Trino went away"), elapsed=1.0)
    Notification.objects.update(created_at=timezone.now() - timedelta(minutes=5))

    body = client.get("/metrics", HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }
    assert value(samples, "couponops_distribution_runs_failed_total") == 1
    assert value(samples, "couponops_distribution_requests", status="failed") == 1
    assert value(samples, "couponops_notifications_pending") == 1
    assert 300 <= value(samples, "couponops_notifications_oldest_pending_age_seconds") < 400


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_in_multiprocess_mode_a_scrape_of_one_process_sums_the_latency_of_all(postgres, tmp_path):
    """What gunicorn with several workers needs: each web process writes its histogram to the shared
    PROMETHEUS_MULTIPROC_DIR, and whichever process is scraped reports them all."""
    env = process_env(METRICS_TOKEN=TOKEN, PROMETHEUS_MULTIPROC_DIR=tmp_path)
    with wsgi_server(env) as first, wsgi_server(env) as second:
        for _ in range(3):
            assert get(f"{first}/healthz")[0] == 200
        samples = scrape(second)
    assert (
        value(samples, "couponops_http_request_duration_seconds_count", view="healthz", method="GET", status="2xx") >= 3
    )  # served by the first process, scraped from the second


# --- /healthz ------------------------------------------------------------------------------------------


@contextmanager
def wsgi_server(env):
    """couponops.wsgi in a process of its own (wsgiref: no dependency), on a free port."""
    port = free_port()
    code = (
        "from wsgiref.simple_server import make_server; from couponops.wsgi import application; "
        f"make_server('127.0.0.1', {port}, application).serve_forever()"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: process.poll() is not None or _answers(url), timeout=60, what="the web server")
        assert process.poll() is None, "the web server exited"
        yield url
    finally:
        process.terminate()
        process.wait(30)


def _answers(url):
    try:
        get(f"{url}/healthz")
        return True
    except OSError:
        return False


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_healthz_is_200_with_the_database_and_503_without(postgres):
    with wsgi_server(process_env()) as url:
        status, body = get(f"{url}/healthz")
        assert (status, json.loads(body)) == (200, {"status": "ok", "database": "ok"})
    unreachable = process_env(DATABASE_URL=f"postgres://nobody@127.0.0.1:{free_port()}/nothing")
    with wsgi_server(unreachable) as url:
        status, body = get(f"{url}/healthz")
        assert (status, json.loads(body)) == (503, {"status": "unavailable", "database": "unreachable"})


# --- worker liveness -----------------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_checkworker_says_alive_for_a_live_worker_and_dead_once_it_is_killed(postgres, tmp_path):
    env = process_env(WORKER_HEARTBEAT_INTERVAL=0.5)
    never = manage("checkworker", env=env)
    assert never.returncode == 1 and "no heartbeat ever recorded" in never.stderr
    with qcluster(env, tmp_path / "worker.log") as cluster:
        alive = wait_for(
            lambda: (r := manage("checkworker", "--max-age", "5", env=env)).returncode == 0 and r,
            timeout=60,
            what="a heartbeat",
        )
        os.killpg(cluster.pid, signal.SIGKILL)  # the whole cluster dies at once: nobody beats any more
        cluster.wait()
        time.sleep(3)
        dead = manage("checkworker", "--max-age", "2", env=env)
    assert "couponops@" in alive.stdout and "alive" in alive.stdout
    assert dead.returncode == 1 and "last heartbeat" in dead.stderr, dead.stderr
    notifications = manage("checkworker", "--cluster", "notifications", env=env)
    assert notifications.returncode == 1  # a different cluster: this one never ran here


def test_checkworker_fails_when_a_running_request_stopped_making_progress(postgres, coupon, settings):
    import socket

    now = timezone.now()
    heartbeat_record(cluster="couponops", host=socket.gethostname(), pid=1, started_at=now)
    call_command("checkworker")  # alive: exits normally
    DistributionRequest.objects.create(
        coupon=coupon,
        source="warehouse",
        table="t",
        column="c",
        memo="m",
        status=Status.RUNNING,
        heartbeat_at=now - timedelta(seconds=settings.DISTRIBUTION_STALE_AFTER + 5),
    )
    with pytest.raises(SystemExit) as exited:
        call_command("checkworker")
    assert exited.value.code == 1


def test_the_admin_says_when_a_worker_stopped_reporting(admin_client, settings, db):
    import socket

    page = "/admin/distribution/distributionrequest/"
    never = admin_client.get(page, HTTP_HOST="localhost").content.decode()
    assert 'data-worker="couponops"' in never and "has never reported" in never
    long_ago = timezone.now() - timedelta(minutes=10)
    heartbeat_record(cluster="couponops", host=socket.gethostname(), pid=1, started_at=long_ago, now=long_ago)
    stopped = admin_client.get(page, HTTP_HOST="localhost").content.decode()
    assert "has not reported for 10 min" in stopped
    heartbeat_record(cluster="couponops", host=socket.gethostname(), pid=1, started_at=long_ago)
    assert 'data-worker="couponops"' not in admin_client.get(page, HTTP_HOST="localhost").content.decode()


# --- logs ----------------------------------------------------------------------------------------------


def transition_log(log_format):
    code = (
        "from common.logs import log_transition; "
        "log_transition(request_id=42, event='claimed', status='running', attempt=2)"
    )
    env = {**os.environ, "LOG_FORMAT": log_format, "DATABASE_URL": "sqlite:///:memory:"}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr.strip().splitlines()[-1]


def test_a_transition_is_one_json_line_with_the_request_id_when_log_format_is_json():
    line = json.loads(transition_log("json"))
    assert {key: line[key] for key in ("logger", "level", "request_id", "event", "status", "attempt")} == {
        "logger": "couponops.transitions",
        "level": "INFO",
        "request_id": 42,
        "event": "claimed",
        "status": "running",
        "attempt": 2,
    }


def test_a_transition_is_one_plain_line_searchable_by_request_id_by_default():
    assert transition_log("plain").endswith(
        "couponops.transitions request_id=42 event=claimed status=running attempt=2"
    )


def test_every_service_transition_is_logged_once_it_commits(
    coupon, staff_user, caplog, django_capture_on_commit_callbacks
):
    distribution = DistributionRequest.objects.create(
        coupon=coupon, source="demo", table="t", column="c", memo="m", status=Status.QUEUED, requested_by=staff_user
    )
    with caplog.at_level("INFO", logger="couponops.transitions"), django_capture_on_commit_callbacks(execute=True):
        services.distribution_cancel(distribution=distribution, actor=by(staff_user))
    lines = [r for r in caplog.records if r.name == "couponops.transitions"]
    assert [(r.request_id, r.event, r.status, r.actor) for r in lines] == [
        (distribution.pk, "cancelled", "cancelled", "marketer")
    ]
