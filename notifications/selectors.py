"""Reads of the notifications app's data for other parts of the project."""

from django.db.models import Count, Min

from .models import Notification


def outbox_backlog() -> tuple[int, object]:
    """(messages waiting to be sent, when the oldest of them was recorded, or None)."""
    pending = Notification.objects.filter(status=Notification.Status.PENDING)
    backlog = pending.aggregate(n=Count("pk"), oldest=Min("created_at"))
    return backlog["n"], backlog["oldest"]
