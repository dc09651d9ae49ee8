"""A shutdown that does not wait for a distribution to finish, nor cut one mid-chunk.

django-q2 stops a cluster by queueing a STOP pill behind each worker's current task: a worker busy
with a 30-minute distribution keeps the stop waiting 30 minutes, until systemd's stop timeout kills
it mid-chunk. Here the sentinel first sends its workers SIGTERM, which a running distribution turns
into "commit this chunk, queue the request again, then exit" (tasks.stop_on_sigterm).
"""

import os
import signal

from django_q.cluster import Sentinel


class GracefulSentinel(Sentinel):
    def start(self):
        # django-q2 leaves the sentinel to die of a SIGTERM sent to the whole process group (systemd's
        # default KillMode, `kill -TERM -<pgid>`), possibly inside a lock the main process then waits
        # on forever. Ignored here, the main process's orderly stop reaches it instead.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        super().start()

    def stop(self):
        for process in self.pool:  # the workers only: the pusher and monitor must live to drain the queues
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        super().stop()
