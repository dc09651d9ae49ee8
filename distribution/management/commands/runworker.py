from django_q import cluster
from django_q.management.commands import qcluster

from distribution.worker import GracefulSentinel


class Command(qcluster.Command):
    help = (
        "Starts the worker cluster: django-q2's qcluster, whose shutdown (SIGTERM or Ctrl-C to this "
        "process) lets a running distribution end at a chunk boundary and queues it again."
    )

    def handle(self, *args, **options):
        # django-q2 has no setting for the sentinel class: Cluster.start() spawns whatever
        # django_q.cluster.Sentinel names, so ours is put there (tested with django-q2 1.11.1, pinned).
        cluster.Sentinel = GracefulSentinel
        super().handle(*args, **options)
