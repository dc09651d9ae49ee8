"""Distribution events for whoever wants them (notifications/ listens; distribution/ never imports it).

Every signal is sent with `request=<DistributionRequest>` and only after the transition is committed,
so a receiver never sees a state that could still roll back.
"""

import logging

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

distribution_approval_needed = Signal()
distribution_started = Signal()
distribution_succeeded = Signal()
distribution_failed = Signal()
distribution_cancelled = Signal()
distribution_revoked = Signal()


def send_on_commit(signal, request):
    transaction.on_commit(lambda: _send(signal, request))


def _send(signal, request):
    # send_robust: a failing receiver is logged and never changes a distribution's outcome.
    for receiver, result in signal.send_robust(sender=type(request), request=request):
        if isinstance(result, Exception):
            logger.error("receiver %r of a distribution signal failed", receiver, exc_info=result)
