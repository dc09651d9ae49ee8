"""Worker heartbeats: a worker cluster writes one row per (cluster, host) every few seconds.

Read by `manage.py checkworker` (systemd, container health checks), /metrics and the admin's banner.
"""

import contextlib
import logging
import os
import socket
import threading

from django.conf import settings
from django.db import IntegrityError, connection
from django.utils import timezone

from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)


def heartbeat_record(*, cluster: str, host: str, pid: int, started_at, now=None) -> None:
    """Upserts the cluster's row for this host. Two clusters of one name on one host share it."""
    now = now or timezone.now()
    fields = {"pid": pid, "started_at": started_at, "beat_at": now}
    if WorkerHeartbeat.objects.filter(cluster=cluster, host=host).update(**fields):
        return
    with contextlib.suppress(
        IntegrityError
    ):  # the other cluster of this name created it first: the next beat updates it
        WorkerHeartbeat.objects.create(cluster=cluster, host=host, **fields)


class Heartbeat:
    """A daemon thread that records a beat now and every WORKER_HEARTBEAT_INTERVAL seconds.

    It runs in the cluster's supervising process (the sentinel), which forks workers: each beat opens
    its own connection and closes it again under `fork_lock`, and the sentinel forks only while holding
    that lock, so a child never inherits (and on exit closes) a connection this thread is using.
    `chores` are called with each beat, on the same terms (the distribution cluster's look at the queue).
    """

    def __init__(self, cluster: str, fork_lock: threading.Lock, chores=()):
        self.cluster, self.fork_lock, self.chores = cluster, fork_lock, list(chores)
        self.host, self.pid, self.started_at = socket.gethostname(), os.getpid(), timezone.now()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="couponops-heartbeat", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopped.set()

    def _run(self):
        while True:
            self._beat()
            if self.stopped.wait(settings.WORKER_HEARTBEAT_INTERVAL):
                return

    def _beat(self):
        with self.fork_lock:
            try:
                heartbeat_record(cluster=self.cluster, host=self.host, pid=self.pid, started_at=self.started_at)
                for chore in self.chores:
                    chore()
            except Exception:  # the database is away: no beat, which is what the liveness check must see
                logger.warning("worker heartbeat not recorded", exc_info=True)
            finally:
                connection.close()


def heartbeat_ages(now=None) -> dict[str, float]:
    """Seconds since each cluster's newest beat, on whichever host: {cluster name: seconds}."""
    now = now or timezone.now()
    newest = {}
    for cluster, beat_at in WorkerHeartbeat.objects.values_list("cluster", "beat_at"):
        newest[cluster] = max(newest.get(cluster, beat_at), beat_at)
    return {cluster: max(0.0, (now - beat_at).total_seconds()) for cluster, beat_at in newest.items()}


def heartbeat_age(cluster: str, host: str, now=None) -> float | None:
    """Seconds since the cluster on `host` last beat; None if it never did."""
    beat_at = WorkerHeartbeat.objects.filter(cluster=cluster, host=host).values_list("beat_at", flat=True).first()
    return None if beat_at is None else max(0.0, ((now or timezone.now()) - beat_at).total_seconds())


def cluster_names() -> list[str]:
    """The worker clusters this project runs: the distribution cluster and its ALT_CLUSTERS."""
    return [settings.Q_CLUSTER["name"], *settings.Q_CLUSTER.get("ALT_CLUSTERS", {})]
