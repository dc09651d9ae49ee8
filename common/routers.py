"""Reads that tolerate a second of lag go to the read replica (DATABASE_REPLICA_URL), everything else to the primary.

A read goes to the standby only inside `replica_reads()`, which the views that may lag open (the wallet, the
support look-up): a query Django would send anywhere by default (a redeem's own re-read, a service's check
before its UPDATE) stays on the primary, so a member's redeem or release and what follows it in the same
call see their own write. Inside the scope the standby is used only while it is no more than
DATABASE_REPLICA_MAX_LAG seconds behind (common/replica.py); a standby that falls further behind, or
cannot be reached, hands the call back to the primary. Without a replica nothing changes.
"""

import contextvars
from contextlib import contextmanager
from functools import wraps

from django.conf import settings

from . import replica

REPLICA = "replica"
_scope = contextvars.ContextVar("couponops_replica_reads", default=None)


class _Scope:
    def __init__(self, alias):
        self.alias = alias


class ReplicaRouter:
    """Django's database router: `db_for_read` is the only decision; writes, relations and migrations are
    the primary's (a standby refuses writes, and receives the schema through replication). A write inside a
    `replica_reads()` block sends the block's later reads to the primary too: they follow the write."""

    def db_for_read(self, model, **hints):
        scope = _scope.get()
        return scope.alias if scope is not None else None

    def db_for_write(self, model, **hints):
        if (scope := _scope.get()) is not None:
            scope.alias = None
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same data on both

    def allow_migrate(self, db, app_label, **hints):
        return db == "default"


@contextmanager
def replica_reads():
    """Reads inside the block may come from the standby, when it is configured and close enough behind."""
    token = _scope.set(_Scope(REPLICA if _replica_usable() else None))
    try:
        yield
    finally:
        _scope.reset(token)


def tolerates_lag(view):
    """A view whose reads tolerate a second of lag (DATABASE_REPLICA_MAX_LAG): it reads the standby."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        with replica_reads():
            return view(*args, **kwargs)

    return wrapper


def _replica_usable():
    if REPLICA not in settings.DATABASES:
        return False
    lag = replica.lag_seconds()
    return lag is not None and lag <= settings.DATABASE_REPLICA_MAX_LAG
