"""The Trino id stream read as arrays per key block (distribution/sources/blocks.py), on a real Trino."""

import os
import time

import pytest

from distribution.sources import SourceError, blocks, get_source
from distribution.sources.blocks import rebatch, slice_bounds

pytestmark = pytest.mark.integration


def flatten(batches):
    return [user_id for batch in batches for user_id in batch]


@pytest.fixture(autouse=True)
def sliced_at_any_size(monkeypatch):
    """Every table read in slices, so that the tests' small tables cross several (blocks.SLICED_FROM)."""
    monkeypatch.setattr(blocks, "SLICED_FROM", 0)


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


def test_closing_the_stream_early_cancels_its_queries(warehouse, settings, monkeypatch):
    source = small_blocks(settings, 16)  # 1,500,000 order keys in about 370,000 rows: many pages, many slices
    target = source.resolve("tpch.sf1.orders", "orderkey")
    since = warehouse.execute("SELECT current_timestamp")[0][0]
    batches = source.read(target, after=None, batch_size=1000)
    assert len(next(batches)) == 1000
    batches.close()
    # The slice being read and the next one, started ahead, are closed; no slice after those two is started.
    states = wait_for_states(warehouse, '%"orders"%user_id / 16%', since)
    assert 1 <= len(states) <= 2 and all(state in {("FAILED", "USER_CANCELED"), ("FINISHED", None)} for state in states)

    monkeypatch.setattr(blocks, "SLICED_FROM", 10**12)  # one query, most of its answer unread
    since = warehouse.execute("SELECT current_timestamp")[0][0]
    batches = source.read(target, after=None, batch_size=1000)
    assert len(next(batches)) == 1000
    batches.close()
    assert wait_for_states(warehouse, '%"orders"%user_id / 16%', since) == [("FAILED", "USER_CANCELED")]


def wait_for_states(warehouse, pattern, since):
    """The states of the slice queries matching `pattern` created since `since`, oldest first, once none of them
    is running."""
    sql = (
        "SELECT state, error_code FROM system.runtime.queries WHERE query LIKE ? AND query NOT LIKE '%system.runtime%' "
        "AND created >= ? ORDER BY created"
    )
    for _ in range(100):
        states = [tuple(row) for row in warehouse.execute(sql, [pattern, since])]
        if all(state[0] in ("FINISHED", "FAILED") for state in states):
            return states
        time.sleep(0.1)
    return states


def test_the_key_range_is_read_in_slices_first_small_then_doubling(monkeypatch):
    monkeypatch.setattr(blocks, "SLICED_FROM", 2_000_000)
    assert slice_bounds(3, 100 * 16 - 2, 10_000_000, 16) == [
        (3, 47),
        (48, 143),
        (144, 335),
        (336, 719),
        (720, 1487),
        (1488, 1598),
    ]
    assert slice_bounds(3, 1598, 1_999_999, 16) == [(3, 1598)]  # a small table: one query
    assert slice_bounds(5, 5, 10_000_000, 16) == [(5, 5)]  # one id value: one slice
    far = slice_bounds(1, 10**12, 10_000_000, 65_536)  # ids far apart: few slices, not one per block
    assert len(far) <= 8 and far[0][0] == 1 and far[-1][1] == 10**12
    top = slice_bounds(2**63 - 10**9, 2**63 - 1, 10_000_000)  # the last slice ends at the largest bigint
    assert top[-1][1] == 2**63 - 1 and all(first <= last for first, last in top)


def test_ids_far_apart_come_exactly_across_empty_slices(settings, memory_table):
    table = memory_table(
        "SELECT * FROM (VALUES BIGINT '3', 70000, 9000000000, 9000000001, 9223372036854775807) t(user_id)"
    )
    source = small_blocks(settings, 1024)
    batches = source.read(source.resolve(table, "user_id"), after=None, batch_size=2)
    assert list(batches) == [[3, 70000], [9000000000, 9000000001], [9223372036854775807]]
    assert list(source.read(source.resolve(table, "user_id"), after=9223372036854775807, batch_size=2)) == []


@pytest.mark.parametrize("encoding", ["json+lz4,json+zstd", "json+zstd", "direct"])
def test_a_server_without_spooling_answers_every_encoding_in_the_direct_protocol(encoding, settings, warehouse):
    settings.COUPONOPS_SOURCES = {
        **settings.COUPONOPS_SOURCES,
        "warehouse": {**settings.COUPONOPS_SOURCES["warehouse"], "encoding": encoding},
    }
    source = get_source("warehouse")
    ids = flatten(source.read(source.resolve("tpch.sf1.customer", "custkey"), after=149_990, batch_size=4))
    assert ids == list(range(149_991, 150_001))


def test_direct_asks_for_no_spooling_and_a_list_keeps_its_order(settings, warehouse):
    base = settings.COUPONOPS_SOURCES["warehouse"]
    assert get_source("warehouse").encoding() == ["json+lz4", "json+zstd"]
    settings.COUPONOPS_SOURCES = {**settings.COUPONOPS_SOURCES, "warehouse": {**base, "encoding": "direct"}}
    assert get_source("warehouse").encoding() is None
    settings.COUPONOPS_SOURCES = {**settings.COUPONOPS_SOURCES, "warehouse": {**base, "encoding": "json+zstd, json"}}
    assert get_source("warehouse").encoding() == ["json+zstd", "json"]


@pytest.fixture
def spooling_warehouse(settings):
    """The warehouse source on a Trino with the spooling protocol on (TRINO_SPOOLING_TEST_PORT: started by
    `python -m tests.harness.trino serve --spooling-s3 …` next to an S3 store such as moto_server)."""
    port = os.environ.get("TRINO_SPOOLING_TEST_PORT")
    if not port:
        pytest.skip("no Trino with spooling: set TRINO_SPOOLING_TEST_PORT")
    settings.COUPONOPS_SOURCES = {
        **settings.COUPONOPS_SOURCES,
        "warehouse": {"kind": "trino", "host": "127.0.0.1", "port": int(port), "user": "test", "read_block": 64},
    }
    return get_source("warehouse")


@pytest.mark.parametrize("encoding", ["json+lz4", "json+zstd"])
def test_a_spooling_server_hands_compressed_segments_and_the_ids_are_exact(encoding, spooling_warehouse):
    source = spooling_warehouse
    source.options = {**source.options, "encoding": encoding}
    with source.cursor() as cursor:
        cursor.execute("SELECT custkey FROM tpch.sf1.customer")
        assert not isinstance(cursor._query.result.rows, list)  # segments, decoded lazily: not a direct page
    batches = list(source.read(source.resolve("tpch.sf1.customer", "custkey"), after=10, batch_size=50_000))
    assert flatten(batches) == list(range(11, 150_001))
    assert [len(batch) for batch in batches] == [50_000, 50_000, 49_990]
