"""Distribution events for whoever wants them (notifications/ listens; distribution/ never imports it).

`Event` is the one list of events (the lifecycle's table declares them): each has a label and a signal, and every other app reads the list
from here (the outbox's choices, the Slack titles, the receivers). Every signal is sent with
`distribution=<DistributionRequest>` and only after the transition is committed, so a receiver never
sees a state that could still roll back.
"""

import logging

from django.db import transaction
from django.dispatch import Signal

from . import lifecycle

logger = logging.getLogger(__name__)


# The one list of events, derived from the lifecycle's table of moves (the moves that announce something).
Event = lifecycle.Event


def event_choices():
    """For model fields: a callable, so that a new event needs no migration."""
    return Event.choices


SIGNALS = {event: Signal() for event in Event}
distribution_approval_needed = SIGNALS[Event.APPROVAL_NEEDED]
distribution_started = SIGNALS[Event.STARTED]
distribution_succeeded = SIGNALS[Event.SUCCEEDED]
distribution_failed = SIGNALS[Event.FAILED]
distribution_retrying = SIGNALS[Event.RETRYING]
distribution_cancelled = SIGNALS[Event.CANCELLED]
distribution_rejected = SIGNALS[Event.REJECTED]
distribution_revoked = SIGNALS[Event.REVOKED]
distribution_audience_changed = SIGNALS[Event.AUDIENCE_CHANGED]


def send_on_commit(event, distribution):
    transaction.on_commit(lambda: _send(SIGNALS[event], distribution))


def _send(signal, distribution):
    # send_robust: a failing receiver is logged and never changes a distribution's outcome.
    for receiver, result in signal.send_robust(sender=type(distribution), distribution=distribution):
        if isinstance(result, Exception):
            logger.error("receiver %r of a distribution signal failed", receiver, exc_info=result)
