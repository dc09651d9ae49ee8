"""The managers' overview: what runs, what waits, what failed, and the month in two charts."""

from datetime import timedelta

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from campaigns import selectors as campaign_selectors
from common import charts
from distribution import selectors
from distribution.models import DistributionRequest

DAYS, FAILURE_DAYS, TOP_COUPONS = 30, 7, 10
LISTED = 50  # rows per list on the page; the counts beside the headings are complete


def overview_view(request):
    if not request.user.has_perm("distribution.view_distributionrequest"):
        raise PermissionDenied
    context = {**admin.site.each_context(request), "title": _("Overview"), **overview_context()}
    return TemplateResponse(request, "admin/couponops/overview.html", context)


def overview_context():
    now = timezone.now()
    running = selectors.running_request()
    per_day = selectors.issued_per_day(DAYS)
    counts = selectors.requests_by_status()
    failed = selectors.failed_since(now - timedelta(days=FAILURE_DAYS))
    return {
        "running": running,
        "running_bar": _request_admin().progress(running) if running else "",
        "queued": list(selectors.queued_requests()[:LISTED]),
        "queued_count": counts[DistributionRequest.Status.QUEUED],
        "awaiting": list(selectors.awaiting_approval_requests()[:LISTED]),
        "awaiting_count": counts[DistributionRequest.Status.AWAITING_APPROVAL],
        "next_schedules": list(campaign_selectors.schedules_next(limit=LISTED)),
        "failures": list(failed[:LISTED]),
        "failures_count": failed.count(),
        "month": selectors.month_totals(),
        "month_name": formats.date_format(timezone.localdate(), "YEAR_MONTH_FORMAT"),
        "per_day": charts.columns(
            [(day.isoformat(), formats.date_format(day, "MONTH_DAY_FORMAT"), n) for day, n in per_day]
        ),
        "per_day_total": sum(n for _, n in per_day),
        "per_day_labels": {i for i in range(DAYS) if (DAYS - 1 - i) % 5 == 0},
        "per_coupon": charts.rows(selectors.issued_per_coupon(DAYS, TOP_COUPONS)),
        "days": DAYS,
        "failure_days": FAILURE_DAYS,
        "top_coupons": TOP_COUPONS,
    }


def _request_admin():
    """The request admin draws the live progress bar; the overview shows the very same one."""
    return admin.site.get_model_admin(DistributionRequest)
