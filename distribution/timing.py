"""The one place where a distribution's elapsed time is measured (the seed's interceptor)."""

import time
from contextlib import contextmanager


class Stopwatch:
    def __init__(self):
        self.started = time.monotonic()
        self.stopped = None

    @property
    def elapsed(self):
        return (self.stopped or time.monotonic()) - self.started


@contextmanager
def stopwatch():
    """Yields a Stopwatch that stops when the block ends, however it ends."""
    watch = Stopwatch()
    try:
        yield watch
    finally:
        watch.stopped = time.monotonic()


def rate(rows, seconds):
    return rows / seconds if seconds > 0 else None
