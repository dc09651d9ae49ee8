"""Reads of the distribution app's data for other parts of the project."""

from datetime import timedelta

from django.db.models import Count, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from .models import DistributionRequest

Status = DistributionRequest.Status


# --- Operations: /metrics, the managers' overview, checkworker (couponops/) ---------------------------
# Everything here reads DistributionRequest rows only: never the issued-coupon table, which holds tens
# of millions of rows and has no index but its primary key. A request's coupons count on the day its
# run ended (the last chunk's day while it runs): one row per request, not a scan of what it issued.


def requests_by_status() -> dict[str, int]:
    """How many requests are in each status, every status present (0 when none)."""
    counts = dict(DistributionRequest.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return {status: counts.get(status, 0) for status in Status.values}


def running_request() -> DistributionRequest | None:
    return DistributionRequest.objects.filter(status=Status.RUNNING).select_related("coupon").first()


def queued_requests():
    """In line, first in first out: the order the worker takes them."""
    return DistributionRequest.objects.filter(status=Status.QUEUED).select_related("coupon").order_by("queued_at", "pk")


def awaiting_approval_requests():
    return (DistributionRequest.objects.filter(status=Status.AWAITING_APPROVAL)
            .select_related("coupon", "requested_by").order_by("confirmed_at", "pk"))


def coupons_issued_total() -> int:
    """Every coupon ever issued, revoked ones included (revoking never lowers `issued_count`)."""
    return DistributionRequest.objects.aggregate(n=Coalesce(Sum("issued_count"), 0))["n"]


def failed_since(since):
    """Requests whose last run failed after `since` and that were not retried since, newest first."""
    return (DistributionRequest.objects.filter(status=Status.FAILED, finished_at__gte=since)
            .select_related("coupon").order_by("-finished_at"))


def stuck_running(now, stale_after):
    """Running requests without progress for `stale_after` seconds: their worker died or hangs."""
    return DistributionRequest.objects.stale(now, stale_after)


def _with_issue_day(since):
    last_write = Coalesce("finished_at", "heartbeat_at")
    return (DistributionRequest.objects.filter(issued_count__gt=0)
            .annotate(day=TruncDate(last_write, tzinfo=timezone.get_current_timezone()))
            .filter(day__gte=since))


def issued_per_day(days: int, today=None) -> list[tuple]:
    """(date, coupons issued) for each of the last `days` days up to today, in the current time zone."""
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    sums = dict(_with_issue_day(first).values_list("day").annotate(n=Sum("issued_count")).order_by())
    return [(first + timedelta(days=i), sums.get(first + timedelta(days=i), 0)) for i in range(days)]


def issued_per_coupon(days: int, limit: int = 10, today=None) -> list[tuple]:
    """(coupon code, coupons issued) over the last `days` days, the largest first."""
    first = (today or timezone.localdate()) - timedelta(days=days - 1)
    rows = (_with_issue_day(first).values_list("coupon__code").annotate(n=Sum("issued_count"))
            .order_by("-n", "coupon__code")[:limit])
    return list(rows)


def month_totals(today=None) -> dict[str, int]:
    """This calendar month so far: coupons issued and revoked, and runs by how they ended."""
    first = (today or timezone.localdate()).replace(day=1)
    tz = timezone.get_current_timezone()
    ended = DistributionRequest.objects.annotate(day=TruncDate("finished_at", tzinfo=tz)).filter(day__gte=first)
    revoked = DistributionRequest.objects.annotate(day=TruncDate("revoked_at", tzinfo=tz)).filter(day__gte=first)
    return {
        "issued": _with_issue_day(first).aggregate(n=Coalesce(Sum("issued_count"), 0))["n"],
        "revoked": revoked.aggregate(n=Coalesce(Sum("revoked_count"), 0))["n"],
        "succeeded": ended.filter(status__in=[Status.SUCCEEDED, Status.REVOKING, Status.REVOKED]).count(),
        "failed": ended.filter(status=Status.FAILED).count(),
        "cancelled": ended.filter(status=Status.CANCELLED).count(),
    }
