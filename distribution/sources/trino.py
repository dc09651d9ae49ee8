"""The Trino warehouse, through the `trino` DB-API client."""

import contextlib
import sys
from concurrent.futures import ThreadPoolExecutor

import requests
import trino
from django.utils.translation import gettext as _

from .base import Source, SourceError, fetch_column, quote_identifier
from .blocks import BLOCK, block_rows, id_block_query, key_range_query, rebatch, slice_bounds

# Spooled segments compressed with LZ4 cost Trino the least CPU of the encodings measured, and the
# client's decompression next to nothing (docs/reader.md); zstd is the fallback of a server without LZ4.
DEFAULT_ENCODING = "json+lz4,json+zstd"


class TrinoSource(Source):
    kind = "trino"

    def connect(self):
        options = self.options
        auth = None
        if options.get("password"):
            auth = trino.auth.BasicAuthentication(options["user"], options["password"])
        return trino.dbapi.connect(
            host=options["host"],
            port=options["port"],
            user=options["user"],
            http_scheme=options.get("http_scheme", "http"),
            auth=auth,
            allow_insecure_auth=options.get("allow_insecure_auth", False),
            source="couponops",
            # Plain JSON values: ids arrive as Python ints without the client's per-value mapping,
            # which roughly doubles the rows read per second.
            legacy_primitive_types=True,
            request_timeout=options.get("request_timeout", 60),
            encoding=self.encoding(),
        )

    def encoding(self):
        """The spooling encodings to ask for, in order of preference; None for the direct protocol. A server
        without spooling ignores the request and answers in the direct protocol, so asking costs nothing."""
        wanted = self.options.get("encoding", DEFAULT_ENCODING)
        return None if wanted == "direct" else [part.strip() for part in wanted.split(",")]

    def read(self, target, *, after, batch_size):
        """Streams the distinct audience in ascending batches, read as one array of ids per key block, slice
        by slice of the key range (see blocks.py); closing the generator cancels the queries."""
        block = self.options.get("read_block", BLOCK)
        with self.cursor() as cursor:
            cursor.execute(*key_range_query(target, after))
            low, high, rows = cursor.fetchone()
        if low is None:
            return
        slices = slice_bounds(low, high, rows, block)
        queries = [id_block_query(target, after, block, bounds) for bounds in slices]
        with Lookahead(self, queries) as blocks:
            yield from rebatch(blocks, batch_size)

    def catalogs(self, cursor):
        return fetch_column(cursor, "SELECT catalog_name FROM system.metadata.catalogs")

    def schemas(self, cursor, catalog):
        return fetch_column(cursor, f"SELECT schema_name FROM {quote_identifier(catalog)}.information_schema.schemata")

    def tables(self, cursor, catalog, schema):
        sql = f"SELECT table_name FROM {quote_identifier(catalog)}.information_schema.tables WHERE table_schema = ?"
        return fetch_column(cursor, sql, [schema])

    def columns(self, cursor, catalog, schema, table):
        sql = (
            f"SELECT column_name, data_type FROM {quote_identifier(catalog)}.information_schema.columns "
            "WHERE table_schema = ? AND table_name = ?"
        )
        cursor.execute(sql, [schema, table])
        return {name: data_type.lower() for name, data_type in cursor.fetchall()}

    def fingerprint_sql(self):
        # checksum() is Trino's order-independent sum of xxhash64 values (the same value the earlier
        # checksum(DISTINCT …) gave, so older previews still compare); FILTER keeps the null group of
        # invalid rows out (checksum counts nulls), so adding or removing an invalid row changes nothing.
        return "to_hex(checksum(id) FILTER (WHERE id IS NOT NULL))"

    def as_source_error(self, exc):
        where = {"source": self.name, "host": self.options["host"], "port": self.options["port"]}
        if isinstance(exc, (requests.exceptions.RequestException, trino.exceptions.TrinoConnectionError)):
            return SourceError(
                _(
                    "Could not reach the Trino server of “%(source)s” at %(host)s:%(port)s. "
                    "Check that it is running and that TRINO_HOST and TRINO_PORT are right."
                )
                % where,
                field="source",
            )
        if isinstance(exc, trino.exceptions.TrinoAuthError) and "TLS" in str(exc):
            return SourceError(
                _(
                    "A Trino password is only sent over https: set TRINO_HTTP_SCHEME=https, or "
                    "TRINO_ALLOW_INSECURE_AUTH=true if a proxy encrypts the connection."
                ),
                field="source",
            )
        if getattr(exc, "error_name", None) == "PERMISSION_DENIED":
            return SourceError(_("Trino refused access: %(error)s") % {"error": exc.message}, field="table")
        if isinstance(exc, trino.exceptions.TrinoQueryError):
            return SourceError(
                _("Trino reported %(name)s: %(error)s") % {"name": exc.error_name, "error": exc.message}, field="source"
            )
        return super().as_source_error(exc)


class Lookahead:
    """The id arrays of the slices' queries, in order. Each query is started (on a thread) as soon as the one
    before it hands over its first row, so Trino aggregates the next slice while the worker writes this one;
    at most two queries are open, and leaving the block closes (cancels) both."""

    def __init__(self, source, queries):
        self.source, self.queries = source, queries
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trino-next-slice")
        self.pending = None
        self.blocks = self._blocks()

    def __enter__(self):
        return self.blocks

    def __exit__(self, *exc_info):
        self.blocks.close()  # closes the slice being read
        if self.pending is not None:
            # The next slice's own error is not reported: the run already ends for another reason.
            with contextlib.suppress(Exception):
                self.pending.result().close()
        self.pool.shutdown()

    def _blocks(self):
        for index in range(len(self.queries)):
            handle = (self.pending or self._start(index)).result()
            with handle as cursor:
                rows = block_rows(cursor)
                first = next(rows, None)
                # Only now: a slice's first row comes once Trino has aggregated all of it (its ORDER BY), so the
                # next slice's query takes no CPU from this one's, and the first slice, which the first coupon
                # waits for, has the warehouse to itself.
                self.pending = self._start(index + 1) if index + 1 < len(self.queries) else None
                if first is not None:
                    yield first
                yield from rows

    def _start(self, index):
        return self.pool.submit(self._open, self.queries[index])

    def _open(self, query):
        """The slice's cursor, its query executed (Trino has started it); its errors leave as SourceError."""
        handle = self.source.cursor()
        cursor = handle.__enter__()
        try:
            cursor.execute(*query)
        except BaseException:
            handle.__exit__(*sys.exc_info())  # closes it, and raises a client error as SourceError
            raise
        return handle
