"""A shutdown that does not wait for a distribution to finish, nor cut one mid-chunk, nor start another.

django-q2 stops a cluster by queueing a STOP pill behind each worker's current task: a worker busy
with a 30-minute distribution keeps the stop waiting 30 minutes, until systemd's stop timeout kills
it mid-chunk. Here the sentinel first sends its workers SIGTERM, which a running distribution turns
into "commit this chunk, queue the request again, then exit" (tasks.stop_on_sigterm).

A stop that has begun is a flag in memory shared by every process of the cluster (created before
the first fork, so each forked process inherits it). Whichever process gets the stop signal first —
the main process (Ctrl-C, `kill`), the sentinel (systemd's SIGTERM to the whole group) — raises it,
and from then on no worker of this cluster claims a request or a revoke: not the one being stopped,
not one the sentinel respawns meanwhile, not one that takes a task the pusher had already fetched.
"""

import contextlib
import ctypes
import multiprocessing
import os
import queue
import signal
import threading

from django.conf import settings
from django_q.cluster import Cluster, Sentinel
from django_q.conf import Conf

from common.heartbeat import Heartbeat

from .services import distribution_watch

_stopping = None  # multiprocessing.RawValue: no lock, so a signal handler may set it at any moment


def cluster_stopping_prepare():
    """Creates the cluster's stop flag; runworker calls it in the main process before anything forks."""
    global _stopping
    _stopping = multiprocessing.RawValue(ctypes.c_bool, False)


def cluster_stop_begin(*args):
    """Raises the stop flag (usable as a signal handler: it only stores one byte)."""
    if _stopping is not None:
        _stopping.value = True


def cluster_is_stopping() -> bool:
    return _stopping is not None and bool(_stopping.value)


class GracefulCluster(Cluster):
    def sig_handler(self, signum, frame):
        cluster_stop_begin()  # before django-q2's stop, which only reaches the workers half a second later
        super().sig_handler(signum, frame)


class GracefulSentinel(Sentinel):
    def start(self):
        # django-q2 leaves the sentinel to die of a SIGTERM sent to the whole process group (systemd's
        # default KillMode, `kill -TERM -<pgid>`), possibly inside a lock the main process then waits
        # on forever. Here it only raises the stop flag; the main process's orderly stop reaches it.
        # Workers forked later inherit this handler, so an idle worker signalled too claims nothing.
        signal.signal(signal.SIGTERM, cluster_stop_begin)
        self.fork_lock = threading.Lock()
        super().start()

    def guard(self):
        # The guard loop lives as long as the cluster, busy or idle: its heartbeat is the cluster's.
        heartbeat = Heartbeat(Conf.CLUSTER_NAME, self.fork_lock, chores=self._chores()).start()
        try:
            super().guard()
        finally:
            heartbeat.stop()

    def _chores(self):
        """The distribution cluster's periodic look at the queue, made with each heartbeat."""
        if settings.Q_CLUSTER["name"] != Conf.CLUSTER_NAME:
            return []
        return [lambda: cluster_is_stopping() or distribution_watch()]

    def spawn_process(self, target, *args):
        with self.fork_lock:  # never fork while the heartbeat thread holds a database connection
            return super().spawn_process(target, *args)

    def stop(self):
        cluster_stop_begin()
        for process in self.pool:  # the workers only: the pusher and monitor must live to drain the queues
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        threading.Thread(target=self._drain, name="couponops-drain", daemon=True).start()
        super().stop()

    def _drain(self):
        """django-q2's pusher blocks on a full task queue (it holds workers² tasks) once no worker takes
        from it — the stopped worker has died — and its stop waits for the pusher forever. What it holds
        are wake-ups a stopping cluster does not run (the every-minute look queues one): taken and
        dropped until the pusher has ended. The broker hands them out again after `retry`."""
        while self.pusher.is_alive():
            try:
                task = self.task_queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if task == "STOP":  # a worker's pill, put by the stop once the pusher ended: it is theirs
                with contextlib.suppress(ValueError):  # the queue is closed already
                    self.task_queue.put(task)
                return
