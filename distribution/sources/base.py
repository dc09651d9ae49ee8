"""What every source shares: naming a table, checking it against metadata, streaming its ids.

A source never puts text it was given into SQL. A name is first split into its parts, each part is
looked up in the source's own metadata, and only the names the metadata returned are quoted into
the query.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Integer types whose values fit a PostgreSQL bigint once cast (lower-case, as metadata reports them).
INTEGER_TYPES = frozenset({"tinyint", "smallint", "integer", "int", "bigint", "utinyint", "usmallint", "uinteger"})


def type_in_words(data_type):
    """A column type as a marketer reads it ("text", not "varchar")."""
    base = data_type.split("(")[0].strip().lower()
    for prefixes, words in TYPE_WORDS:
        if base.startswith(prefixes):
            return str(words)
    return _("other values")


TYPE_WORDS = (
    (("varchar", "char", "string", "text"), gettext_lazy("text")),
    (("double", "real", "float", "decimal", "numeric"), gettext_lazy("decimal numbers")),
    (("date", "timestamp", "time"), gettext_lazy("dates or times")),
    (("bool",), gettext_lazy("yes/no values")),
)


class SourceError(Exception):
    """A problem the person who named the table can fix; `field` says which input is wrong."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Target:
    """A checked audience: names exactly as the source's metadata spells them."""

    catalog: str
    schema: str
    table: str
    column: str
    data_type: str

    @property
    def display_name(self):
        return ".".join(display_part(p) for p in (self.catalog, self.schema, self.table))

    @property
    def quoted_table(self):
        return ".".join(quote_identifier(p) for p in (self.catalog, self.schema, self.table))

    @property
    def quoted_column(self):
        return quote_identifier(self.column)


def quote_identifier(name):
    return '"' + name.replace('"', '""') + '"'


def display_part(name):
    plain = name.isidentifier() and name == name.lower()
    return name if plain else quote_identifier(name)


def split_table_name(text):
    """Splits `catalog.schema.table`; a part may be double-quoted to hold dots or quotes."""
    parts, current, quoted, i = [], [], False, 0
    text = text.strip()
    while i < len(text):
        char = text[i]
        if char == '"' and quoted and text[i + 1 : i + 2] == '"':
            current.append('"')
            i += 1
        elif char == '"':
            quoted = not quoted
        elif char == "." and not quoted:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current).strip())
    if quoted or len(parts) != 3 or not all(parts):
        raise TableNameFormatError(_("Name the table as catalog.schema.table."), field="table")
    return parts


class TableNameFormatError(SourceError):
    """A table name not of the form catalog.schema.table; the source adds an example of its own."""


def pick(name, candidates):
    """The metadata name matching `name`: exactly if possible, else ignoring case."""
    if name in candidates:
        return name
    folded = [c for c in candidates if c.lower() == name.lower()]
    return folded[0] if len(folded) == 1 else None


def id_query(target, after):
    """Valid ids (positive; null, zero and negative are never user ids) in ascending order, so that a
    run can resume after its checkpoint.

    No DISTINCT: on Trino the hash aggregation costs more CPU than the sort itself, and a
    sorted stream is deduplicated on the way for almost nothing (see `distinct_batches`).
    """
    sql = (
        f"SELECT CAST({target.quoted_column} AS BIGINT) AS user_id "
        f"FROM {target.quoted_table} WHERE {target.quoted_column} > 0"
    )
    params = []
    if after is not None:
        sql += f" AND {target.quoted_column} > ?"
        params.append(after)
    return sql + " ORDER BY user_id", params


def valid_id(target):
    """The column's value where it is a valid id (positive), else null."""
    return f"CASE WHEN {target.quoted_column} > 0 THEN {target.quoted_column} END"


def _ids_with_rows(target):
    """Each distinct valid id once (and one null group for every invalid row), with its number of rows.
    Grouping once keeps one hash table of the ids; two DISTINCT aggregates side by side (a count and a
    fingerprint) kept two, and at 30,000,000 ids ran out of Trino's 2 GB query memory."""
    return f"(SELECT {valid_id(target)} AS id, COUNT(*) AS n FROM {target.quoted_table} GROUP BY 1) AS ids"


def profile_query(target, fingerprint):
    """Distinct valid ids, their fingerprint, valid rows and all rows, in one scan; then the fingerprint of
    every valid row (rows_query), in the same statement. `fingerprint` is the source's own
    order-independent aggregate over `id` (Source.fingerprint_sql)."""
    return (
        f"SELECT COUNT(id), {fingerprint}, COALESCE(SUM(n) FILTER (WHERE id IS NOT NULL), 0), "
        f"COALESCE(SUM(n), 0), (SELECT {fingerprint} FROM {_valid_rows(target)}) FROM {_ids_with_rows(target)}"
    )


def audience_query(target, fingerprint):
    """The distinct valid ids and their fingerprint alone: what a run checks before its first coupon."""
    return f"SELECT COUNT(id), {fingerprint} FROM {_ids_with_rows(target)}"


def rows_query(target, fingerprint):
    """Every valid row (duplicates included) counted and fingerprinted as it comes: no grouping, so no hash
    table of the ids (on Trino 0.25 s against 3 s for audience_query at 10,000,000 ids, docs/benchmarks.md)."""
    return f"SELECT COUNT(id), {fingerprint} FROM {_valid_rows(target)}"


def _valid_rows(target):
    return f"(SELECT {valid_id(target)} AS id FROM {target.quoted_table}) AS valid_rows"


def held_out_query(target, condition):
    """How many distinct valid ids meet `condition` on `id` (a coupon's control-group rule, holdout.py)."""
    return (
        f"SELECT COUNT(*) FROM (SELECT DISTINCT CAST({target.quoted_column} AS BIGINT) AS id "
        f"FROM {target.quoted_table} WHERE {target.quoted_column} > 0) AS ids WHERE {condition}"
    )


def sample_query(target, size):
    return (
        f"SELECT DISTINCT CAST({target.quoted_column} AS BIGINT) FROM {target.quoted_table} "
        f"WHERE {target.quoted_column} > 0 LIMIT {int(size)}"
    )


@dataclass(frozen=True)
class Profile:
    """What a table holds for a distribution: the preview's counts and a few ids to look at."""

    targets: int
    invalid: int
    duplicates: int
    samples: list
    fingerprint: str = ""
    rows_fingerprint: str = ""  # of every valid row, duplicates included (Rows)


@dataclass(frozen=True)
class Audience:
    """The distinct valid ids of a table as a count and a content fingerprint: equal fingerprints mean
    (but for a 1 in 2^64 chance) the same members, whatever the rows' order or duplicates."""

    targets: int
    fingerprint: str


@dataclass(frozen=True)
class Rows:
    """Every valid row of a table, duplicates included, as a count and a fingerprint of the same kind. Equal
    ones mean the same ids, each as many times as before, hence the same members: a check that needs no
    grouping. Unequal ones need not mean other members (a duplicate row added): Audience then tells."""

    count: int
    fingerprint: str


def fetch_column(cursor, sql, params=None):
    cursor.execute(sql, params or [])
    return [row[0] for row in cursor.fetchall()]


def distinct_batches(cursor, size) -> Iterator[list[int]]:
    """Batches of strictly ascending ids from a cursor over sorted ids, duplicates dropped."""
    last = None
    while rows := cursor.fetchmany(size):
        # dict.fromkeys keeps the first of each run of equal ids, in order, at C speed.
        batch = list(dict.fromkeys(row[0] for row in rows))
        if batch[0] == last:
            batch = batch[1:]
        if batch:
            last = batch[-1]
            yield batch


class Source:
    """A named place to read audiences from. Subclasses know their client and their metadata."""

    kind = ""

    def __init__(self, name, options):
        self.name = name
        self.options = options

    def connect(self):
        raise NotImplementedError

    def catalogs(self, cursor):
        raise NotImplementedError

    def schemas(self, cursor, catalog):
        raise NotImplementedError

    def tables(self, cursor, catalog, schema):
        raise NotImplementedError

    def columns(self, cursor, catalog, schema, table):
        """{column name: lower-case type name}."""
        raise NotImplementedError

    def resolve(self, table_name, column_name) -> Target:
        """Checks every part of the name against metadata; raises SourceError naming the first wrong one."""
        try:
            catalog, schema, table = split_table_name(table_name)
        except TableNameFormatError as exc:
            example = self.example_table()
            raise (
                SourceError(
                    _("Name the table as catalog.schema.table, for example %(example)s.") % {"example": example},
                    field="table",
                )
                if example
                else exc
            ) from None
        with self.cursor() as cursor:
            catalog = self._must_find(catalog, self.catalogs(cursor), _("Catalog “%(name)s” does not exist."))
            schema = self._must_find(schema, self.schemas(cursor, catalog), _("Schema “%(name)s” does not exist."))
            table = self._must_find(table, self.tables(cursor, catalog, schema), _("Table “%(name)s” does not exist."))
            columns = self.columns(cursor, catalog, schema, table)
        column = pick(column_name.strip(), columns)
        if column is None:
            raise SourceError(
                _("Column “%(name)s” does not exist in %(table)s.") % {"name": column_name, "table": table},
                field="column",
            )
        return self._integer_target(Target(catalog, schema, table, column, columns[column]))

    # Metadata that is not anyone's audience: left out of examples and suggestions.
    SYSTEM_NAMES = frozenset(
        {"system", "information_schema", "pg_catalog", "temp", "jdbc", "runtime", "metadata", "system_catalog"}
    )

    def example_table(self):
        """A real table of this source, as catalog.schema.table, to show how a name is written; None if
        the source has none or does not answer."""
        try:
            with self.cursor() as cursor:
                for catalog in sorted(set(self.catalogs(cursor)) - self.SYSTEM_NAMES):
                    for schema in sorted(set(self.schemas(cursor, catalog)) - self.SYSTEM_NAMES):
                        if tables := sorted(self.tables(cursor, catalog, schema)):
                            return ".".join(display_part(p) for p in (catalog, schema, tables[0]))
        except SourceError:
            return None
        return None

    def suggest(self, typed, limit=30):
        """Names completing what has been typed of catalog.schema.table, from the metadata."""
        parts = [part.strip().strip('"') for part in typed.split(".")]
        with self.cursor() as cursor:
            names, prefix = self.catalogs(cursor), ""
            if len(parts) >= 2:
                catalog = pick(parts[0], names)
                names, prefix = (self.schemas(cursor, catalog) if catalog else []), f"{display_part(catalog or '')}."
            if len(parts) >= 3 and names:
                schema = pick(parts[1], names)
                names = self.tables(cursor, catalog, schema) if schema else []
                prefix += f"{display_part(schema or '')}."
        end = "" if len(parts) >= 3 else "."
        wanted = parts[min(len(parts), 3) - 1].lower()
        found = sorted(n for n in set(names) - self.SYSTEM_NAMES if n.lower().startswith(wanted))
        return [prefix + display_part(name) + end for name in found[:limit]]

    def integer_columns(self, table_name):
        """The columns of a table that could hold user ids (integers)."""
        catalog, schema, table = split_table_name(table_name)
        with self.cursor() as cursor:
            catalog = pick(catalog, self.catalogs(cursor))
            schema = catalog and pick(schema, self.schemas(cursor, catalog))
            table = schema and pick(table, self.tables(cursor, catalog, schema))
            columns = self.columns(cursor, catalog, schema, table) if table else {}
        return sorted(name for name, kind in columns.items() if kind.split("(")[0].strip() in INTEGER_TYPES)

    def _must_find(self, name, candidates, message):
        found = pick(name, candidates)
        if found is None:
            raise SourceError(message % {"name": name}, field="table")
        return found

    def _integer_target(self, target):
        if target.data_type.split("(")[0].strip() not in INTEGER_TYPES:
            raise SourceError(
                _("Column “%(name)s” holds %(kind)s, not whole numbers; member ids must be whole numbers.")
                % {"name": target.column, "kind": type_in_words(target.data_type)},
                field="column",
            )
        return target

    def fingerprint_sql(self):
        """An aggregate over `id` (valid ids, and nulls to leave out), as text, that any change of the ids
        changes: over the distinct ids (each once) the audience's fingerprint, over every row the rows'.
        An order-independent sum of the ids' hashes is both: a value twice counts twice."""
        raise NotImplementedError

    def profile(self, target, samples=10) -> Profile:
        with self.cursor() as cursor:
            cursor.execute(profile_query(target, self.fingerprint_sql()))
            targets, fingerprint, valid_rows, rows, rows_fingerprint = cursor.fetchone()
            sample_ids = sorted(fetch_column(cursor, sample_query(target, samples))) if targets else []
        return Profile(
            targets,
            rows - valid_rows,
            valid_rows - targets,
            sample_ids,
            str(fingerprint or ""),
            str(rows_fingerprint or ""),
        )

    def audience(self, target) -> Audience:
        """The audience as it is now, in one aggregate scan."""
        with self.cursor() as cursor:
            cursor.execute(audience_query(target, self.fingerprint_sql()))
            targets, fingerprint = cursor.fetchone()
        return Audience(targets, str(fingerprint or ""))

    def rows(self, target) -> Rows:
        """Every valid row as it is now, in one scan without grouping (see Rows)."""
        with self.cursor() as cursor:
            cursor.execute(rows_query(target, self.fingerprint_sql()))
            count, fingerprint = cursor.fetchone()
        return Rows(count, str(fingerprint or ""))

    def held_out_count(self, target, rule) -> int:
        """Members of the audience the control-group rule holds out, counted by the source itself."""
        with self.cursor() as cursor:
            cursor.execute(held_out_query(target, rule.sql("id")))
            return cursor.fetchone()[0]

    def read(self, target, *, after, batch_size) -> Iterator[list[int]]:
        """Streams the distinct audience in ascending batches; closing the generator cancels the query."""
        with self.cursor() as cursor:
            sql, params = id_query(target, after)
            cursor.execute(sql, params)
            yield from distinct_batches(cursor, batch_size)

    def cursor(self):
        return _ClosingCursor(self)

    def as_source_error(self, exc):
        """Turns a client's exception into a message a marketer can act on."""
        return SourceError(
            _("The source “%(source)s” failed: %(error)s") % {"source": self.name, "error": exc}, field="source"
        )


class _ClosingCursor:
    """A cursor whose connection closes with it; client errors leave it as SourceError."""

    def __init__(self, source):
        self.source = source
        self.connection = self._cursor = None

    def __enter__(self):
        if self._cursor is not None:  # opened on another thread (trino.Lookahead): read here, closed here
            return self._cursor
        try:
            self.connection = self.source.connect()
            self._cursor = self.connection.cursor()
        except Exception as exc:
            self.close()
            raise self.source.as_source_error(exc) from exc
        return self._cursor

    def __exit__(self, exc_type, exc, traceback):
        self.close()
        if isinstance(exc, Exception) and not isinstance(exc, SourceError):
            raise self.source.as_source_error(exc) from exc

    def close(self):
        # Closing the cursor cancels a running Trino query; closing the connection alone would not.
        for thing in (self._cursor, self.connection):
            try:
                if thing is not None:
                    thing.close()
            except Exception:  # the source may be gone already; nothing left to release
                pass
