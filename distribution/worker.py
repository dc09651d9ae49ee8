"""A shutdown that does not wait for a distribution to finish, nor cut one mid-chunk.

django-q2 stops a cluster by queueing a STOP pill behind each worker's current task: a worker busy
with a 30-minute distribution keeps the stop waiting 30 minutes, until systemd's stop timeout kills
it mid-chunk. Here the sentinel first sends its workers SIGTERM, which a running distribution turns
into "commit this chunk, queue the request again, then exit" (tasks.stop_on_sigterm).
"""

import os
import signal
import threading

from django_q.cluster import Sentinel
from django_q.conf import Conf

from couponops.heartbeat import Heartbeat


class GracefulSentinel(Sentinel):
    def start(self):
        # django-q2 leaves the sentinel to die of a SIGTERM sent to the whole process group (systemd's
        # default KillMode, `kill -TERM -<pgid>`), possibly inside a lock the main process then waits
        # on forever. Ignored here, the main process's orderly stop reaches it instead.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        self.fork_lock = threading.Lock()
        super().start()

    def guard(self):
        # The guard loop lives as long as the cluster, busy or idle: its heartbeat is the cluster's.
        heartbeat = Heartbeat(Conf.CLUSTER_NAME, self.fork_lock).start()
        try:
            super().guard()
        finally:
            heartbeat.stop()

    def spawn_process(self, target, *args):
        with self.fork_lock:  # never fork while the heartbeat thread holds a database connection
            return super().spawn_process(target, *args)

    def stop(self):
        for process in self.pool:  # the workers only: the pusher and monitor must live to drain the queues
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        super().stop()
