"""django-q2 entry points: thin, they only call services."""

import signal
import threading
from contextlib import contextmanager

from . import services


def run_queue():
    """Runs whatever is queued, in order; safe to deliver twice (claims decide)."""
    with stop_on_sigterm() as stop:
        services.distribution_run_queue(stop=stop)


@contextmanager
def stop_on_sigterm():
    """An Event set by SIGTERM while the run lasts, so a stopping worker ends at a chunk boundary.

    django-q2 resets SIGTERM in its workers to the default (die at once); a run would then lose its
    current chunk (rolled back, so still exact) and wait for the watchdog. Handling it here lets the
    chunk commit and puts the request straight back in the queue; then the worker dies of the signal
    after all, as django-q2 expects of a worker it stops or replaces after a timeout.
    """
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield stop
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGTERM, previous)
    if stop.is_set():
        signal.raise_signal(signal.SIGTERM)
