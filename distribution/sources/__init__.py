"""Named audience sources, configured in settings.COUPONOPS_SOURCES."""

from django.conf import settings
from django.utils.translation import gettext as _

from .base import Source, SourceError, Target
from .duckdb import DuckDBSource
from .trino import TrinoSource

KINDS = {cls.kind: cls for cls in (TrinoSource, DuckDBSource)}

__all__ = ["Source", "SourceError", "Target", "get_source", "source_names"]


def source_names():
    return list(settings.COUPONOPS_SOURCES)


def get_source(name) -> Source:
    options = settings.COUPONOPS_SOURCES.get(name)
    if options is None:
        raise SourceError(_("Unknown source “%(name)s”.") % {"name": name}, field="source")
    return KINDS[options["kind"]](name, options)
