"""django-q2 entry points of the notifications cluster: thin, they only call services."""

from . import services


def deliver_outbox(notification_id=None):
    """Delivers every due notification; the id only says which event woke us."""
    return services.notification_deliver_due()
