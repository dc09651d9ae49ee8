"""django-q2 entry points: thin, they only call services."""

from . import services


def run_queue():
    """Runs whatever is queued, in order; safe to deliver twice (claims decide)."""
    services.distribution_run_queue()
