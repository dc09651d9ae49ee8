"""Distribution events for whoever wants them (notifications/ listens; distribution/ never imports it).

Every signal is sent with `request=<DistributionRequest>` and only after the transition is committed,
so a receiver never sees a state that could still roll back.
"""

from django.db import transaction
from django.dispatch import Signal

distribution_started = Signal()
distribution_succeeded = Signal()
distribution_failed = Signal()


def send_on_commit(signal, request):
    transaction.on_commit(lambda: signal.send(sender=type(request), request=request))
