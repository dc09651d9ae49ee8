"""Writers issue a chunk of coupons; both kinds produce identical rows and counts."""

from django.conf import settings
from django.db import connection

from .base import BudgetExceeded, Chunk, WriteFailed, Written
from .bulk_create import BulkCreateWriter
from .copy import CopyWriter
from .http import HttpWriter

WRITERS = {cls.name: cls for cls in (BulkCreateWriter, CopyWriter, HttpWriter)}

__all__ = ["BudgetExceeded", "Chunk", "WriteFailed", "Written", "get_writer", "writer_class"]


def get_writer(name=None):
    """The configured writer; "auto" takes COPY where the database is PostgreSQL."""
    return writer_class(name)()


def writer_class(name=None):
    name = name or settings.DISTRIBUTION_WRITER
    if name == "auto":
        name = "copy" if connection.vendor == "postgresql" else "bulk_create"
    return WRITERS[name]
