import pytest

from distribution.sources import SourceError, get_source
from distribution.sources.base import Profile, split_table_name


def flatten(batches):
    return [user_id for batch in batches for user_id in batch]


def test_it_splits_table_names_with_quoted_parts():
    assert split_table_name('memory."my.schema"."ta""ble"') == ["memory", "my.schema", 'ta"ble']
    assert split_table_name(" a.b.c ") == ["a", "b", "c"]


@pytest.mark.parametrize("name", ["members", "a.b", "a.b.c.d", 'a."b.c', "a..c"])
def test_it_rejects_names_that_are_not_catalog_schema_table(name):
    with pytest.raises(SourceError) as error:
        split_table_name(name)
    assert error.value.field == "table"


def test_unknown_source_is_an_error_on_the_source_field(settings):
    with pytest.raises(SourceError) as error:
        get_source("nope")
    assert error.value.field == "source"


class TestDuckDB:
    @pytest.fixture
    def demo(self, duckdb_source):
        duckdb_source(
            "CREATE TABLE members AS SELECT * FROM (VALUES (3, 'c'), (1, 'a'), (NULL, 'n'), (3, 'c2'), (2, 'b')) t(member_id, name)"
        )
        return get_source("demo")

    def test_it_resolves_names_as_the_metadata_spells_them(self, demo):
        target = demo.resolve("WAREHOUSE.Main.MEMBERS", "Member_ID")
        assert (target.catalog, target.schema, target.table, target.column) == (
            "warehouse",
            "main",
            "members",
            "member_id",
        )
        assert target.display_name == "warehouse.main.members"

    @pytest.mark.parametrize(
        "table, column, field, words",
        [
            ("nowhere.main.members", "member_id", "table", "Catalog “nowhere”"),
            ("warehouse.nope.members", "member_id", "table", "Schema “nope”"),
            ("warehouse.main.nope", "member_id", "table", "Table “nope”"),
            ("warehouse.main.members", "nope", "column", "Column “nope”"),
            ("warehouse.main.members", "name", "column", "holds text, not whole numbers"),
        ],
    )
    def test_it_names_what_is_wrong(self, demo, table, column, field, words):
        with pytest.raises(SourceError) as error:
            demo.resolve(table, column)
        assert error.value.field == field
        assert words in error.value.message

    def test_it_reads_distinct_non_null_ids_in_ascending_batches(self, demo):
        target = demo.resolve("warehouse.main.members", "member_id")
        assert list(demo.read(target, after=None, batch_size=2)) == [[1, 2], [3]]
        assert demo.profile(target).targets == 3

    def test_the_rows_fingerprint_follows_the_rows_and_the_audience_fingerprint_the_members(self, demo, duckdb_source):
        target = demo.resolve("warehouse.main.members", "member_id")
        profile = demo.profile(target)
        assert demo.rows(target).fingerprint == profile.rows_fingerprint
        assert demo.rows(target).count == profile.targets + profile.duplicates == 4
        duckdb_source("CREATE TABLE reordered AS SELECT * FROM members ORDER BY member_id DESC NULLS FIRST")
        reordered = demo.resolve("warehouse.main.reordered", "member_id")
        assert demo.rows(reordered) == demo.rows(target)
        duckdb_source("INSERT INTO members VALUES (2, 'b2'), (0, 'zero'), (-4, 'negative')")
        assert demo.rows(target).count == 5 and demo.rows(target).fingerprint != profile.rows_fingerprint
        assert demo.audience(target).fingerprint == profile.fingerprint  # the same members

    def test_it_resumes_after_the_checkpoint(self, demo):
        target = demo.resolve("warehouse.main.members", "member_id")
        assert list(demo.read(target, after=1, batch_size=10)) == [[2, 3]]

    def test_a_missing_file_is_a_source_error(self, settings, tmp_path):
        settings.COUPONOPS_SOURCES = {"demo": {"kind": "duckdb", "path": str(tmp_path / "absent.duckdb")}}
        with pytest.raises(SourceError) as error:
            get_source("demo").resolve("a.b.c", "id")
        assert error.value.field == "source"


@pytest.mark.integration
class TestTrino:
    def test_it_resolves_a_memory_table_and_streams_it_sorted(self, memory_table):
        table = memory_table("SELECT * FROM (VALUES BIGINT '30', 10, NULL, 20, 10, 0, -5) t(user_id)")
        source = get_source("warehouse")
        target = source.resolve(table.upper(), "USER_ID")
        assert target.data_type == "bigint"
        profile = source.profile(target)
        assert profile == Profile(
            targets=3,
            invalid=3,
            duplicates=1,
            samples=[10, 20, 30],
            fingerprint=source.audience(target).fingerprint,
            rows_fingerprint=source.rows(target).fingerprint,
        )
        assert source.rows(target).count == 4  # 10 twice
        assert flatten(source.read(target, after=None, batch_size=2)) == [10, 20, 30]
        assert flatten(source.read(target, after=10, batch_size=2)) == [20, 30]

    def test_the_fingerprint_is_the_one_earlier_previews_recorded(self, memory_table, warehouse):
        """Grouping the ids once (less memory) gives the value the earlier DISTINCT aggregate did: a draft
        previewed before the change still runs."""
        table = memory_table("SELECT * FROM (VALUES BIGINT '30', 10, NULL, 20, 10, 0, -5) t(user_id)")
        source = get_source("warehouse")
        earlier = warehouse.execute(
            "SELECT to_hex(checksum(DISTINCT CASE WHEN user_id > 0 THEN user_id END) "
            f"FILTER (WHERE user_id > 0)) FROM {table}"
        )[0][0]
        assert source.audience(source.resolve(table, "user_id")).fingerprint == earlier

    @pytest.mark.parametrize(
        "table, column, words",
        [
            ("nowhere.default.t", "id", "Catalog “nowhere”"),
            ("memory.nope.t", "id", "Schema “nope”"),
            ("memory.default.nope", "id", "Table “nope”"),
        ],
    )
    def test_it_names_a_missing_catalog_schema_or_table(self, warehouse, table, column, words):
        with pytest.raises(SourceError) as error:
            get_source("warehouse").resolve(table, column)
        assert words in error.value.message

    def test_a_varchar_column_is_refused(self, memory_table):
        table = memory_table("SELECT * FROM (VALUES '1', '2') t(user_id)")
        with pytest.raises(SourceError) as error:
            get_source("warehouse").resolve(table, "user_id")
        assert "holds text" in error.value.message and error.value.field == "column"

    def test_a_server_that_does_not_answer_is_a_clear_error(self, settings):
        settings.COUPONOPS_SOURCES = {
            "warehouse": {"kind": "trino", "host": "127.0.0.1", "port": 1, "user": "t", "request_timeout": 2}
        }
        with pytest.raises(SourceError) as error:
            get_source("warehouse").resolve("memory.default.t", "id")
        assert "Could not reach the Trino server" in error.value.message


def test_duplicates_are_dropped_also_across_batch_boundaries(duckdb_source):
    duckdb_source("CREATE TABLE dup AS SELECT * FROM (VALUES (5), (1), (2), (2), (2), (3), (3), (4), (5)) t(user_id)")
    source = get_source("demo")
    target = source.resolve("warehouse.main.dup", "user_id")
    batches = list(source.read(target, after=None, batch_size=2))
    assert [i for batch in batches for i in batch] == [1, 2, 3, 4, 5]
    assert all(batches)
