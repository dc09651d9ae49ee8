"""Receivers of the distribution events: each event becomes one outbox row, sent asynchronously."""

from functools import partial

from distribution.signals import SIGNALS

from .services import notification_record


def record(sender, distribution, *, event, **kwargs):
    notification_record(event=event, distribution=distribution)


def connect():
    """Called from NotificationsConfig.ready(); dispatch_uid keeps a second call harmless."""
    for event, signal in SIGNALS.items():
        signal.connect(partial(record, event=event), weak=False, dispatch_uid=f"notifications.{event.value}")
