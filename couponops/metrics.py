"""/metrics in Prometheus' text format, behind `Authorization: Bearer <METRICS_TOKEN>`.

Two kinds of numbers, collected two ways:

- The state of the work (requests by status, the running request, totals, the outbox, worker
  heartbeats) is read from the database at scrape time by OperationsCollector. Any web process gives
  the same answer, so it is right under any number of gunicorn workers and needs no shared state.
- HTTP latency can only be observed by the process that served the request. Under gunicorn with
  several workers one scrape reaches one worker, so per-process histograms would each hold a random
  part of the traffic. With PROMETHEUS_MULTIPROC_DIR set (an empty directory shared by the web's
  workers, cleared at each start) prometheus-client keeps them in files there and a scrape sums every
  worker's (its multiprocess mode). Without it (runserver, a single process) the process's own
  histogram is served — correct there, and no directory to manage.

django-prometheus is not used: its exporter view has no authentication, it needs a pair of middlewares and
registers a dozen per-process metrics at import, and the multiprocess question stays the same; one
histogram and one collector are all this needs.
"""

import hmac
import os
import time

from django.conf import settings
from django.http import Http404, HttpResponse
from django.utils import timezone
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from common.heartbeat import heartbeat_ages
from distribution import selectors
from distribution.lease import lease_lapsed_since
from notifications import selectors as notification_selectors

# Labels are route names and classes only, never a path, an id or a member: bounded cardinality.
HTTP_SECONDS = Histogram(
    "couponops_http_request_duration_seconds",
    "Time to answer an HTTP request, by route (URL name).",
    ["view", "method", "status"],
    registry=None,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class RequestLatencyMiddleware:
    """Times every request, labelled by the URL pattern's name (the view's dotted path when unnamed),
    so any new URL — the Coupon API's included — is covered without touching this."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        HTTP_SECONDS.labels(
            view=match.view_name if match else "unmatched",
            method=request.method if request.method in METHODS else "other",
            status=f"{response.status_code // 100}xx",
        ).observe(time.perf_counter() - started)
        return response


class OperationsCollector:
    """Gauges and counters read from the database at scrape time."""

    def collect(self):
        yield self._requests_by_status()
        yield from self._running()
        yield CounterMetricFamily(
            "couponops_coupons_issued",
            "Coupons issued, ever (revoked ones included).",
            value=selectors.coupons_issued_total(),
        )
        yield CounterMetricFamily(
            "couponops_distribution_runs_failed",
            "Distribution runs that failed, ever.",
            value=selectors.runs_failed_total(),
        )
        yield CounterMetricFamily(
            "couponops_distribution_throttled_seconds",
            "Seconds distribution runs spent slowed down or paused to spare the members, ever.",
            value=selectors.throttled_seconds_total(),
        )
        yield from self._outbox()
        yield self._heartbeats()

    def _requests_by_status(self):
        family = GaugeMetricFamily(
            "couponops_distribution_requests",
            "Distribution requests by status (queued = the queue's depth).",
            labels=["status"],
        )
        for status, count in selectors.requests_by_status().items():
            family.add_metric([status], count)
        return family

    def _running(self):
        request = selectors.running_request()
        read, target, rate = (
            (request.read_count, request.target_count or 0, request.live_rate() or 0) if request else (0, 0, 0)
        )
        lapsed = request is not None and lease_lapsed_since(request) is not None
        lease_age = (timezone.now() - request.heartbeat_at).total_seconds() if request and request.heartbeat_at else 0
        values = {
            "running": ("1 while a distribution runs, else 0.", 1 if request else 0),
            "running_read_rows": ("Ids the running request has read so far.", read),
            "running_target_rows": ("Ids the running request will read.", target),
            # No rate for a run nobody reports on: a dead worker's last rate is not a rate.
            "running_rows_per_second": ("The running request's rate in its current run.", 0 if lapsed else rate),
            "running_lease_age_seconds": (
                "Seconds since the running request's worker last renewed its lease.",
                lease_age,
            ),
            "running_lease_lapsed": (
                "1 while the running request's worker has stopped reporting (it will be taken over), else 0.",
                1 if lapsed else 0,
            ),
        }
        for name, (documentation, value) in values.items():
            yield GaugeMetricFamily(f"couponops_distribution_{name}", documentation, value=value)
        yield self._throttle(request)

    def _throttle(self, request):
        """1 while the throttle slows or pauses the running request, labelled with how and why (0 otherwise)."""
        family = GaugeMetricFamily(
            "couponops_distribution_running_throttled",
            "1 while the running request is slowed down or paused (state: slowed, paused, held), by signal.",
            labels=["state", "signal"],
        )
        throttle = (request.throttle or {}) if request else {}
        if throttle.get("state"):
            family.add_metric([throttle["state"], throttle.get("signal", "operator")], 1)
        return family

    def _outbox(self):
        pending, oldest = notification_selectors.outbox_backlog()
        age = (timezone.now() - oldest).total_seconds() if oldest else 0
        yield GaugeMetricFamily("couponops_notifications_pending", "Notifications waiting to be sent.", value=pending)
        yield GaugeMetricFamily(
            "couponops_notifications_oldest_pending_age_seconds",
            "Age of the oldest notification waiting to be sent (0 when none).",
            value=age,
        )

    def _heartbeats(self):
        family = GaugeMetricFamily(
            "couponops_worker_heartbeat_age_seconds",
            "Seconds since the worker cluster's newest heartbeat (any host).",
            labels=["cluster"],
        )
        for cluster, age in sorted(heartbeat_ages().items()):
            family.add_metric([cluster], age)
        return family


def metrics_view(request):
    """404 unless METRICS_TOKEN is set; 401 without the right bearer token."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    given = request.headers.get("Authorization", "").encode()
    if not hmac.compare_digest(given, f"Bearer {token}".encode()):
        return HttpResponse(status=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


def _registry():
    registry = CollectorRegistry()
    registry.register(OperationsCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(HTTP_SECONDS)
    return registry
