"""A coupon's results page: the members it was issued to against its control group, at a glance.

The issued group is every member a request of the coupon issued it to, and redeemed means the coupon's
`used_at` is set. The control group is every member a request held out, and converted means an import
of conversions from the warehouse marked them (`manage.py import_conversions`, docs/holdout.md). Coupon
API calls are left out of both: they hold out the same members, but record no control group rows.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from common.charts import nice_ceiling
from distribution.models import Coupon, HeldOutMember, IssuedCoupon

from .stats import Lift, two_proportion


@dataclass(frozen=True)
class Results:
    issued: int
    redeemed: int
    held_out: int
    converted: int
    lift: Lift | None


def coupon_results(*, coupon: Coupon) -> Results:
    """Both groups' sizes and conversions: one range scan of the coupon's coupons, one of its held-out rows."""
    coupons = IssuedCoupon.objects.filter(coupon_id=coupon.pk, distribution__isnull=False)
    issued = coupons.aggregate(n=Count("user_id"), used=Count("used_at"))
    requests = list(coupon.distributions.filter(held_out_count__gt=0).values_list("pk", flat=True))
    control = HeldOutMember.objects.filter(distribution_id__in=requests).aggregate(
        n=Count("user_id", distinct=True),
        converted=Count("user_id", distinct=True, filter=Q(converted_at__isnull=False)),
    )
    lift = two_proportion(x1=issued["used"], n1=issued["n"], x2=control["converted"], n2=control["n"])
    return Results(issued["n"], issued["used"], control["n"], control["converted"], lift)


WIDTH, LEFT, RIGHT = 640, 170, 80


def rate_bars(results: Results) -> dict:
    """Two horizontal bars, the groups' rates in percent, on one axis."""
    lift = results.lift
    rates = [lift.p1 * 100, lift.p2 * 100] if lift else [0.0, 0.0]
    top = nice_ceiling(max(rates))
    scale = (WIDTH - LEFT - RIGHT) / top
    labels = [_("Issued the coupon"), _("Control group")]
    bars = [
        {"label": label, "rate": rate, "kind": kind, "y": 8 + i * 40, "text_y": 26 + i * 40}
        | {"width": round(rate * scale, 1), "text_x": round(LEFT + rate * scale + 6, 1)}
        for i, (label, rate, kind) in enumerate(zip(labels, rates, ("issued", "control"), strict=True))
    ]
    return {"bars": bars, "left": LEFT, "label_x": LEFT - 8, "width": WIDTH, "height": 92}


def difference_axis(lift: Lift) -> dict:
    """The difference and its 95 % interval, in points, on an axis centred on zero."""
    reach = nice_ceiling(max(abs(lift.low), abs(lift.high)) * 100)
    centre, half = (LEFT + WIDTH - RIGHT) / 2, (WIDTH - LEFT - RIGHT) / 2

    def x(points):
        return round(centre + points / reach * half, 1)

    return {
        "width": WIDTH,
        "height": 64,
        "zero": x(0),
        "low": x(lift.low * 100),
        "high": x(lift.high * 100),
        "point": x(lift.difference * 100),
        "min_x": x(-reach),
        "max_x": x(reach),
        "reach": reach,
    }


def verdict(lift: Lift | None) -> str:
    """The sentence a manager reads first."""
    if lift is None:
        return _("No results yet: both groups need members (a request of this coupon must have run).")
    values = {
        "points": f"{abs(lift.difference) * 100:.1f}",
        "low": f"{lift.low * 100:.1f}",
        "high": f"{lift.high * 100:.1f}",
    }
    if not lift.significant:
        return (
            _(
                "No difference that chance cannot explain: the 95%% interval of the difference, "
                "%(low)s to %(high)s points, includes zero."
            )
            % values
        )
    if lift.difference > 0:
        return _("The coupon raised the rate by %(points)s points (95%% interval %(low)s to %(high)s).") % values
    return _("The control group did better, by %(points)s points (95%% interval %(low)s to %(high)s).") % values


def coupon_results_view(model_admin, request, coupon_id):
    coupon = get_object_or_404(Coupon, pk=coupon_id)
    if not model_admin.has_view_permission(request, coupon):
        raise PermissionDenied
    results = coupon_results(coupon=coupon)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Results of %(coupon)s") % {"coupon": coupon},
        "opts": Coupon._meta,
        "coupon": coupon,
        "results": results,
        "verdict": verdict(results.lift),
        "rates": rate_bars(results),
        "difference": difference_axis(results.lift) if results.lift else None,
    }
    return TemplateResponse(request, "admin/campaigns/results/coupon.html", context)
