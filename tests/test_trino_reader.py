"""The Trino id stream read as arrays per key block (distribution/sources/blocks.py), on a real Trino."""

import time

import pytest

from distribution.sources import SourceError, get_source
from distribution.sources.blocks import rebatch

pytestmark = pytest.mark.integration


def flatten(batches):
    return [user_id for batch in batches for user_id in batch]


def small_blocks(settings, block):
    """The warehouse source with blocks of `block` ids, so that a small table spans many of them."""
    settings.COUPONOPS_SOURCES = {
        **settings.COUPONOPS_SOURCES,
        "warehouse": {**settings.COUPONOPS_SOURCES["warehouse"], "read_block": block},
    }
    return get_source("warehouse")


def test_rebatch_cuts_arrays_of_any_length_into_exact_batches():
    assert list(rebatch([[1, 2, 3], [], [4], [5, 6, 7, 8, 9]], 4)) == [[1, 2, 3, 4], [5, 6, 7, 8], [9]]
    assert list(rebatch([], 4)) == []


def test_every_valid_id_comes_once_ascending_across_blocks(settings, memory_table):
    # Duplicates inside a block and at both edges of one; invalid ids; an integer (not bigint) column.
    table = memory_table(
        "SELECT CAST(user_id AS INTEGER) AS user_id FROM (VALUES 9, 8, 8, 7, 16, 15, 15, 1, NULL, 0, -4, 23, 24, 24) "
        "t(user_id)"
    )
    source = small_blocks(settings, 8)
    batches = list(source.read(source.resolve(table, "user_id"), after=None, batch_size=3))
    assert batches == [[1, 7, 8], [9, 15, 16], [23, 24]]


def test_it_reads_a_large_table_exactly(warehouse, settings):
    source = small_blocks(settings, 4096)
    target = source.resolve("tpch.sf1.customer", "custkey")
    batches = list(source.read(target, after=None, batch_size=10_000))
    assert flatten(batches) == list(range(1, 150_001))
    assert [len(batch) for batch in batches] == [10_000] * 15


def test_it_resumes_after_a_checkpoint_in_the_middle_of_a_block(settings, memory_table):
    table = memory_table("SELECT * FROM UNNEST(sequence(BIGINT '1', 40)) t(user_id)")
    source = small_blocks(settings, 16)
    assert flatten(source.read(source.resolve(table, "user_id"), after=21, batch_size=7)) == list(range(22, 41))


def test_a_table_gone_before_the_read_is_an_error_by_its_name(warehouse, memory_table):
    table = memory_table("SELECT * FROM (VALUES BIGINT '1') t(user_id)")
    source = get_source("warehouse")
    target = source.resolve(table, "user_id")
    warehouse.execute(f"DROP TABLE {table}")
    with pytest.raises(SourceError) as error:
        list(source.read(target, after=None, batch_size=10))
    assert "TABLE_NOT_FOUND" in error.value.message and error.value.field == "source"


def test_closing_the_stream_early_cancels_the_query(warehouse, settings):
    source = small_blocks(settings, 16)  # 1,500,000 order keys in about 370,000 rows: many pages
    batches = source.read(source.resolve("tpch.sf1.orders", "orderkey"), after=None, batch_size=1000)
    assert len(next(batches)) == 1000
    batches.close()
    assert wait_for_state(warehouse, '%"orders"%user_id / 16%') == ("FAILED", "USER_CANCELED")


def wait_for_state(warehouse, pattern):
    sql = (
        "SELECT state, error_code FROM system.runtime.queries WHERE query LIKE ? AND query NOT LIKE '%system.runtime%' "
        "ORDER BY created DESC LIMIT 1"
    )
    for _ in range(100):
        state = tuple(warehouse.execute(sql, [pattern])[0])
        if state[0] in ("FINISHED", "FAILED"):
            return state
        time.sleep(0.1)
    return state
