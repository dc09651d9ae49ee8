"""Reads of the notifications app's data for other parts of the project."""

from django.db.models import Count, Min

from .models import Notification


def outbox_backlog() -> tuple[int, object]:
    """(messages waiting to be sent, when the oldest of them was recorded, or None)."""
    pending = Notification.objects.filter(status=Notification.Status.PENDING)
    backlog = pending.aggregate(n=Count("pk"), oldest=Min("created_at"))
    return backlog["n"], backlog["oldest"]


def failure_events_total() -> int:
    """Distribution runs that failed, ever: each failure is recorded once in the outbox (sent or not,
    Slack configured or not), and outbox rows are never deleted, so this count only grows."""
    return Notification.objects.filter(event=Notification.Event.FAILED).count()
