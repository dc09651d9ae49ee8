from django_q import cluster
from django_q.management.commands import qcluster

from distribution.worker import GracefulSentinel


class Command(qcluster.Command):
    help = ("Starts the worker cluster: django-q2's qcluster, whose shutdown (SIGTERM or Ctrl-C to this "
            "process) lets a running distribution end at a chunk boundary and queues it again.")

    def handle(self, *args, **options):
        # Cluster.start() spawns whatever django_q.cluster.Sentinel names; ours tells the workers first.
        cluster.Sentinel = GracefulSentinel
        super().handle(*args, **options)
