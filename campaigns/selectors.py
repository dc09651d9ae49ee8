"""Every read of the campaigns app that is more than one model's own business."""

from .models import Schedule, ScheduleRun


def schedule_runs(*, schedule: Schedule, limit: int = 50):
    """A schedule's runs, newest first, each with its request (and the request's counts)."""
    return ScheduleRun.objects.filter(schedule=schedule).select_related("distribution")[:limit]


def schedules_next(*, limit: int = 10):
    """What runs next: active schedules by their next run time, with their coupons."""
    return Schedule.objects.upcoming().select_related("coupon")[:limit]


def schedule_last_run(*, schedule: Schedule) -> ScheduleRun | None:
    return ScheduleRun.objects.filter(schedule=schedule).select_related("distribution").first()
