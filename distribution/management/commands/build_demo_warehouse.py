from pathlib import Path

import duckdb
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Builds the embedded demo warehouse: a DuckDB file with a table of member ids."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=1_000_000)
        parser.add_argument("--path", default=None, help="defaults to the `demo` source's file")

    def handle(self, *args, rows, path, **options):
        path = Path(path or settings.COUPONOPS_SOURCES["demo"]["path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(path)) as connection:
            # Ids are spread (not 1..N) and in no particular order, as in a real members table.
            connection.execute(
                "CREATE OR REPLACE TABLE members AS "
                "SELECT 1000000 + i * 7 AS member_id, 'member ' || i AS name FROM range(?) t(i) ORDER BY random()",
                [rows],
            )
        self.stdout.write(f"{path}: main.members with {rows:,} member ids (column member_id).")
