"""Receivers of the distribution events: each event becomes one outbox row, sent asynchronously."""

from functools import partial

from distribution.signals import (
    distribution_approval_needed,
    distribution_cancelled,
    distribution_failed,
    distribution_revoked,
    distribution_started,
    distribution_succeeded,
)

from .services import notification_record

EVENTS = {
    "approval_needed": distribution_approval_needed,
    "started": distribution_started,
    "succeeded": distribution_succeeded,
    "failed": distribution_failed,
    "cancelled": distribution_cancelled,
    "revoked": distribution_revoked,
}


def record(sender, request, *, event, **kwargs):
    notification_record(event=event, request=request)


def connect():
    """Called from NotificationsConfig.ready(); dispatch_uid keeps a second call harmless."""
    for event, signal in EVENTS.items():
        signal.connect(partial(record, event=event), weak=False, dispatch_uid=f"notifications.{event}")
