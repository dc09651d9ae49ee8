"""How far the read replica (a PostgreSQL streaming standby) is behind the primary.

Asked by the router before a read that tolerates lag and by the throttle between chunks. Lag is read on the
standby itself: `pg_stat_replication.replay_lag` on the primary keeps its last value while replay stands
still, which is exactly when it matters.
"""

import logging

from django.conf import settings
from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)
ALIAS = "replica"

# A standby that has replayed all it received is not behind, however old its last replayed transaction
# is (an idle primary sends nothing new); otherwise it is as far behind as that transaction is old.
# clock_timestamp(), not now(): now() is the transaction's start, and a reader inside one transaction
# (psycopg2's `with conn:` opens one even in autocommit) saw the lag shrink below zero as time went on.
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE coalesce(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0)
END
"""


def configured() -> bool:
    return ALIAS in settings.DATABASES


def lag_seconds() -> float | None:
    """Seconds the standby is behind; None when there is no replica, or it cannot be asked."""
    if not configured():
        return None
    try:
        with connections[ALIAS].cursor() as cursor:
            cursor.execute(LAG_SQL)
            return float(cursor.fetchone()[0])
    except DatabaseError:
        logger.warning("the read replica could not be asked for its lag", exc_info=True)
        connections[ALIAS].close()
        return None
