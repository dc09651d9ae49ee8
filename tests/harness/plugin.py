"""pytest plugin: start a throwaway PostgreSQL before Django reads its settings.

It runs before pytest-django's own hook (tryfirst), so the DATABASE_URL it sets is the one the
settings module sees. A DATABASE_URL given by the caller is used as it is.
"""

import os

import pytest

from . import postgres


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    if os.environ.get("DATABASE_URL"):
        return
    cluster, reason = postgres.start_throwaway()
    if cluster is None:
        os.environ["COUPONOPS_POSTGRES_MISSING"] = reason
        return
    os.environ["DATABASE_URL"] = cluster.url
    early_config.couponops_postgres = cluster


def pytest_unconfigure(config):
    cluster = getattr(config, "couponops_postgres", None)
    if cluster is not None:
        cluster.stop()


def pytest_report_header(config):
    cluster = getattr(config, "couponops_postgres", None)
    if cluster is not None:
        return f"couponops: throwaway PostgreSQL on port {cluster.port}"
    return f"couponops: DATABASE_URL={'given' if os.environ.get('DATABASE_URL') else 'unset (SQLite)'}"
