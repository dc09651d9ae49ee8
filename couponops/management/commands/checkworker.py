import socket

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError
from django.utils import timezone
from django_q.conf import Conf

from common.heartbeat import heartbeat_age
from distribution import selectors


class Command(BaseCommand):
    help = (
        "Exits 0 when this host's worker cluster is alive, 1 when not (for systemd and container health "
        "checks). Alive: the cluster beat within --max-age seconds, busy or idle; and, for the distribution "
        "cluster, no running request has gone without progress for DISTRIBUTION_STALE_AFTER seconds (a "
        "worker that beats but no longer writes is stuck)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--cluster",
            default=None,
            help="the cluster's name; default: Q_CLUSTER_NAME's, else the distribution cluster",
        )
        parser.add_argument("--host", default=socket.gethostname(), help="default: this host")
        parser.add_argument("--max-age", type=float, default=None, help="default: WORKER_HEARTBEAT_STALE")

    def handle(self, *args, cluster, host, max_age, **options):
        cluster = cluster or Conf.CLUSTER_NAME
        try:
            problem = self.problem(cluster, host, max_age or settings.WORKER_HEARTBEAT_STALE)
        except DatabaseError as exc:
            problem = f"cannot tell: the database is unreachable ({type(exc).__name__})"
        if problem:
            self.stderr.write(f"{cluster}@{host}: {problem}")
            raise SystemExit(1)
        self.stdout.write(f"{cluster}@{host}: alive")

    def problem(self, cluster, host, max_age):
        now = timezone.now()
        age = heartbeat_age(cluster, host, now)
        if age is None:
            return "no heartbeat ever recorded"
        if age > max_age:
            return f"last heartbeat {age:,.0f} s ago (more than {max_age:,.0f} s)"
        if cluster == settings.Q_CLUSTER["name"]:
            stuck = selectors.stuck_running(now, settings.DISTRIBUTION_STALE_AFTER).first()
            if stuck is not None:
                return f"request #{stuck.pk} has made no progress since {stuck.heartbeat_at:%Y-%m-%d %H:%M:%S%z}"
        return None
