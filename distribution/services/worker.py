"""What one wake-up of the worker does."""

from ..models import DistributionRequest
from .queue import distribution_claim_next, distribution_requeue_stale
from .revoking import distribution_revoke_run
from .running import distribution_run


def distribution_run_queue(*, stop=None):
    """Finishes pending revokes, then runs queued requests one at a time, oldest first, until none is
    left, another runs, or `stop` (a threading.Event the worker sets on SIGTERM) is set."""
    for distribution in DistributionRequest.objects.filter(status=DistributionRequest.Status.REVOKING):
        distribution_revoke_run(distribution=distribution, stop=stop)
    distribution_requeue_stale()
    while not (stop is not None and stop.is_set()) and (distribution := distribution_claim_next()) is not None:
        distribution_run(distribution=distribution, stop=stop)
