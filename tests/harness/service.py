"""A second couponops as "the coupon service" of the HTTP writer: its own database on the same PostgreSQL
cluster, migrated, with an API key for the writer; served under gunicorn by tests/harness/web.py.

    service = CouponService.create(base_url, env)   # CREATE DATABASE, migrate, create_api_key
    with gunicorn({**env, "DATABASE_URL": service.database}, log) as server: ...
"""

import os

import psycopg2

from .cluster import manage


class CouponService:
    def __init__(self, database, key):
        self.database, self.key = database, key

    @classmethod
    def create(cls, base_url, env, name=None):
        """A fresh database beside `base_url`'s (dropped first if it exists), migrated, with a key for the writer."""
        name = name or f"coupon_service_{os.getpid()}"
        conn = psycopg2.connect(base_url)
        conn.autocommit = True  # CREATE DATABASE runs outside a transaction
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
            cursor.execute(f"CREATE DATABASE {name}")
        conn.close()
        database = base_url.rsplit("/", 1)[0] + "/" + name
        env = {**env, "DATABASE_URL": database}
        migrated = manage("migrate", "--noinput", env=env, timeout=300)
        if migrated.returncode != 0:
            raise RuntimeError(f"migrating the coupon service failed:\n{migrated.stderr[-3000:]}")
        created = manage("create_api_key", "couponops-writer", "--scopes", "issue", env=env, timeout=120)
        if created.returncode != 0:
            raise RuntimeError(f"creating the writer's key failed:\n{created.stderr[-3000:]}")
        return cls(database, created.stdout.strip().splitlines()[-1])

    def sql(self, query, *params):
        conn = psycopg2.connect(self.database)
        try:
            with conn, conn.cursor() as cursor:  # one transaction, committed on leaving
                cursor.execute(query, params)
                return cursor.fetchall() if cursor.description else None
        finally:
            conn.close()

    def add_coupon(self, code):
        self.sql(
            "INSERT INTO distribution_coupon (name, code, discount_kind, discount_amount, valid_days, "
            "is_active, holdout_percent, holdout_salt, created_at) VALUES (%s, %s, 'percent', 10, 14, true, 0, 1, now())",
            code,
            code,
        )

    def holders(self, code):
        """(rows, distinct members) of the coupon in the service's table."""
        return self.sql(
            "SELECT count(*), count(DISTINCT user_id) FROM distribution_issuedcoupon i "
            "JOIN distribution_coupon c ON c.id = i.coupon_id WHERE c.code = %s",
            code,
        )[0]
