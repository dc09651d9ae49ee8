"""django-q2 entry points: thin, they only call services."""

from . import services


def run_due_schedules():
    """Fires the schedules that are due; called every minute. Safe to deliver twice (claims decide)."""
    services.schedules_run_due()
