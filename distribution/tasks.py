"""django-q2 entry points: thin, they only call services."""

import signal
import threading
from contextlib import contextmanager

from . import services
from .cluster import cluster_is_stopping
from .services.running import StopNow


def run_queue():
    """Runs whatever is queued, in order; safe to deliver twice (claims decide)."""
    with stop_on_sigterm() as stop:
        services.distribution_run_queue(stop=stop)


class Stop:
    """Set by this worker's SIGTERM, or by the stop of its whole cluster (distribution.cluster).

    While the run only waits (on Trino's answer to a start-up query, on the next ids), a stop ends it at once:
    a slow warehouse would otherwise hold the stop for minutes. Inside a chunk it never does."""

    def __init__(self):
        self.signalled = threading.Event()
        self.interruptible = False

    def set(self, *args):
        self.signalled.set()
        if self.interruptible:
            self.interruptible = False
            raise StopNow()

    @contextmanager
    def interrupts(self, allowed):
        previous, self.interruptible = self.interruptible, allowed
        try:
            if allowed and self.is_set():  # the stop came while it could not interrupt
                raise StopNow()
            yield
        finally:
            self.interruptible = previous

    def is_set(self):
        return self.signalled.is_set() or cluster_is_stopping()


@contextmanager
def stop_on_sigterm():
    """A Stop set by SIGTERM while the run lasts, so a stopping worker ends at a chunk boundary.

    Without it a SIGTERM would end the run mid-chunk (rolled back, so still exact) and leave the
    request to the lease's expiry. Handled here, the chunk commits and the request goes straight
    back in the queue; then the worker dies of the signal after all (with the default action, not
    the one it inherited), so it never goes back to the task queue for another run.
    """
    stop = Stop()
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield stop
        return
    previous = signal.signal(signal.SIGTERM, stop.set)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGTERM, previous)
    if stop.signalled.is_set():
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)
