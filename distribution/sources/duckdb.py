"""The embedded demo warehouse: a DuckDB file, read-only, with the same contract as Trino."""

from pathlib import Path

import duckdb
from django.utils.translation import gettext as _

from .base import Source, SourceError, fetch_column


class DuckDBSource(Source):
    kind = "duckdb"

    def connect(self):
        path = Path(self.options["path"])
        if not path.exists():
            raise SourceError(
                _("The demo warehouse file %(path)s does not exist; `make demo-data` builds it.") % {"path": path},
                field="source",
            )
        return duckdb.connect(str(path), read_only=True)

    def catalogs(self, cursor):
        return fetch_column(cursor, "SELECT database_name FROM duckdb_databases()")

    def schemas(self, cursor, catalog):
        return fetch_column(
            cursor, "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = ?", [catalog]
        )

    def tables(self, cursor, catalog, schema):
        sql = "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = ?"
        return fetch_column(cursor, sql, [catalog, schema])

    def columns(self, cursor, catalog, schema, table):
        sql = (
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = ? AND table_schema = ? AND table_name = ?"
        )
        cursor.execute(sql, [catalog, schema, table])
        return {name: data_type.lower() for name, data_type in cursor.fetchall()}

    def fingerprint_sql(self):
        # A sum (HUGEINT: no overflow) of the distinct ids' hashes: order-independent and blind to
        # duplicates. DuckDB's hash() may change between DuckDB releases: upgrading DuckDB between a
        # preview and its run makes the run stop as "audience changed", which errs on the safe side.
        return "CAST(sum(hash(id)) FILTER (WHERE id IS NOT NULL) AS VARCHAR)"
