import threading

import pytest

from distribution.prefetch import Prefetched


def numbers(closed, fail_at=None):
    try:
        for n in range(100):
            if n == fail_at:
                raise ValueError("source broke")
            yield [n]
    finally:
        closed.set()


def test_it_yields_every_batch_in_order():
    closed = threading.Event()
    with Prefetched(numbers(closed)) as batches:
        assert [b[0] for b in batches] == list(range(100))
    assert closed.is_set()


def test_a_source_error_reaches_the_consumer():
    closed = threading.Event()
    with pytest.raises(ValueError, match="source broke"), Prefetched(numbers(closed, fail_at=5)) as batches:
        list(batches)
    assert closed.is_set()


def test_stopping_early_closes_the_source():
    closed = threading.Event()
    with Prefetched(numbers(closed), depth=1) as batches:
        for batch in batches:
            if batch[0] == 3:
                break
    assert closed.is_set()
