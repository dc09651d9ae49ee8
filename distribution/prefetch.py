"""Reading and writing at the same time: the source is read one chunk ahead on a thread.

Trino serialises and the client decodes while PostgreSQL ingests the previous chunk's COPY, so
the two costs overlap instead of adding up. The queue holds at most `depth` chunks, which keeps
memory flat whatever the audience's size.
"""

import contextlib
import queue
import threading

_DONE = object()


class Prefetched:
    def __init__(self, batches, depth=2):
        self._batches = batches
        self._queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="source-reader", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __iter__(self):
        while (item := self._queue.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item

    def __exit__(self, *exc_info):
        self._stop.set()
        while self._thread.is_alive():  # unblock a producer waiting for room
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.1)
        self._thread.join()

    def _produce(self):
        try:
            for batch in self._batches:
                if not self._put(batch):
                    return
            self._put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(exc)
        finally:
            self._batches.close()  # closes the cursor: a Trino query still running is cancelled

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False
