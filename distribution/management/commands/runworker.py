from django_q import cluster
from django_q.management.commands import qcluster

from distribution.cluster import GracefulCluster, GracefulSentinel, cluster_stopping_prepare


class Command(qcluster.Command):
    help = (
        "Starts the worker cluster: django-q2's qcluster, whose shutdown (SIGTERM or Ctrl-C to this "
        "process or its whole group) lets a running distribution end at a chunk boundary, queues it "
        "again, and lets no process of the cluster start another."
    )

    def handle(self, *args, **options):
        # django-q2 has no setting for the cluster or sentinel class: qcluster instantiates whatever
        # its module names Cluster, and Cluster.start() spawns whatever django_q.cluster.Sentinel
        # names, so ours are put there (tested with django-q2 1.11.1, pinned).
        cluster_stopping_prepare()
        cluster.Sentinel = GracefulSentinel
        qcluster.Cluster = GracefulCluster
        super().handle(*args, **options)
