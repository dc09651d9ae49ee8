"""The one place where a distribution's elapsed time is measured (the seed's interceptor)."""

import time
from contextlib import contextmanager


class Stopwatch:
    def __init__(self, since=0.0):
        self.since = since
        self.started = time.monotonic()
        self.stopped = None

    @property
    def elapsed(self):
        """Seconds so far, counting `since` (the time earlier runs of the same request took)."""
        return self.since + (self.stopped or time.monotonic()) - self.started


@contextmanager
def stopwatch(since=0.0):
    """Yields a Stopwatch that stops when the block ends, however it ends."""
    watch = Stopwatch(since)
    try:
        yield watch
    finally:
        watch.stopped = time.monotonic()


def rate(rows, seconds):
    return rows / seconds if seconds > 0 else None
