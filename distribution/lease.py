"""The running request's lease: `heartbeat_at`, renewed every few seconds while its worker lives.

A chunk may take minutes (an HTTP writer backing off on 429s, a slow COPY), so the lease is not tied
to chunks: a thread renews it on its own database connection, fenced by the run's `attempts` like
every write of a run. A renewal that finds the request no longer this run's (taken over, cancelled)
marks the lease lost, and the run stops before its next chunk; `record_chunk`'s fence stays the last
line of defence for the chunk in flight.

The lease lasts DISTRIBUTION_STALE_AFTER seconds (default 45); the distribution cluster's heartbeat
looks every WORKER_HEARTBEAT_INTERVAL seconds (default 10) for a lapsed one and queues its request
again: a dead worker's run is taken over within a minute, with no new request needed to notice.
"""

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from .models import DistributionRequest

logger = logging.getLogger(__name__)
# The page calls a lease lapsed after this many missed renewals, long before it expires and the
# run is taken over: a live rate and time left would be a guess by then.
MISSED_RENEWALS = 3


class Lease:
    """`with Lease(distribution) as lease:` renews it in a daemon thread; `lease.lost` is set when it is gone."""

    def __init__(self, distribution: DistributionRequest):
        self.distribution = distribution
        self.lost, self.ended = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"couponops-lease-{distribution.pk}", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.ended.set()
        self.thread.join()

    def _run(self):
        try:
            while not self.ended.wait(renew_every()):
                if not self.renew():
                    self.lost.set()
                    logger.warning("distribution request %s: lease lost; this run stops", self.distribution.pk)
                    return
        finally:
            connection.close()  # this thread's own connection

    def renew(self) -> bool:
        """False only when the request is no longer this run's; a database away is not a lost lease (yet)."""
        try:
            return bool(lease_renew(distribution=self.distribution))
        except DatabaseError:
            logger.warning("distribution request %s: lease not renewed", self.distribution.pk, exc_info=True)
            connection.close()
            return True


def renew_every() -> float:
    """Seconds between renewals: at least three fit in the lease, however short it is set."""
    return min(settings.DISTRIBUTION_LEASE_INTERVAL, settings.DISTRIBUTION_STALE_AFTER / 3)


def lease_renew(*, distribution: DistributionRequest, now=None) -> int:
    return DistributionRequest.objects.filter(
        pk=distribution.pk, status=DistributionRequest.Status.RUNNING, attempts=distribution.attempts
    ).update(heartbeat_at=now or timezone.now())


def lease_lapsed_since(distribution: DistributionRequest, now=None):
    """When a running request's worker last reported, if it has missed renewals since; None otherwise."""
    if distribution.status != DistributionRequest.Status.RUNNING or distribution.heartbeat_at is None:
        return None
    missed = min(MISSED_RENEWALS * renew_every(), settings.DISTRIBUTION_STALE_AFTER)
    if (now or timezone.now()) - distribution.heartbeat_at > timedelta(seconds=missed):
        return distribution.heartbeat_at
    return None
