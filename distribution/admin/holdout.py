"""The held-out members of one request, for analysts: a page that lists them and exports them (CSV, XLSX).

HeldOutMember has a composite primary key, which ModelAdmin does not support (Django 5.2), so the list is
a view of its own reached from the coupon admin, as the issued coupons' list is. The export goes through
the project's safe resources (common/exports.py). Analysts who want every request's rows sync the
plain table distribution_heldoutmember instead.
"""

from functools import partial

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export.formats.base_formats import CSV, XLSX

from campaigns.results import coupon_results_view
from common.exports import SafeModelResource, SpreadsheetExports

from ..lookup import parse_number
from ..models import DistributionRequest, HeldOutMember
from ..resources import _number, _text, _time

PAGE = 100
FORMATS = {"csv": CSV, "xlsx": XLSX}


class HeldOutMemberResource(SafeModelResource):
    distribution = _number("distribution_id", gettext_lazy("request"))
    coupon = _text("coupon__code", gettext_lazy("coupon"))
    user_id = _number("user_id", gettext_lazy("user id"))
    held_out_at = _time("held_out_at", gettext_lazy("held out at"))
    converted_at = _time("converted_at", gettext_lazy("converted at"))

    class Meta:
        model = HeldOutMember
        fields = ("distribution", "coupon", "user_id", "held_out_at", "converted_at")
        export_order = fields


def held_out_members_view(model_admin, request):
    """?request=<id>: the request's held-out members, a page at a time, ascending; &format=csv|xlsx: all."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    number = parse_number(request.GET.get("request", ""))
    if number is None:
        raise Http404(_("Name a request: ?request=<id>."))
    distribution = get_object_or_404(DistributionRequest.objects.select_related("coupon"), pk=number)
    rows = HeldOutMember.objects.filter(distribution=distribution).order_by("user_id")
    if kind := FORMATS.get(request.GET.get("format", "")):
        return _export(rows.select_related("coupon"), kind(), distribution)
    after = parse_number(request.GET.get("after", "")) or 0
    page = list(rows.filter(user_id__gt=after)[: PAGE + 1])
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Held-out members of request #%(pk)s") % {"pk": distribution.pk},
        "opts": HeldOutMember._meta,
        "distribution": distribution,
        "rows": page[:PAGE],
        "next_after": page[PAGE - 1].user_id if len(page) > PAGE else None,
    }
    return TemplateResponse(request, "admin/distribution/heldoutmember/list.html", context)


def _export(rows, kind, distribution):
    data = kind.export_data(HeldOutMemberResource().export(queryset=rows))
    if kind.is_binary():
        body = data
    else:
        body = data.encode(SpreadsheetExports.to_encoding)
    response = HttpResponse(body, content_type=kind.get_content_type())
    name = f"held-out-request-{distribution.pk}.{kind.get_extension()}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def holdout_urls(model_admin):
    """The coupon admin's pages for control groups: a request's held-out members, a coupon's results."""
    site = model_admin.admin_site
    return [
        path(
            "held-out/",
            site.admin_view(partial(held_out_members_view, model_admin)),
            name="distribution_heldoutmember_list",
        ),
        path(
            "<int:coupon_id>/results/",
            site.admin_view(partial(coupon_results_view, model_admin)),
            name="distribution_coupon_results",
        ),
    ]


def held_out_link(model_admin, obj):
    """The request's held-out count, linked to their list when there are any."""
    count = number_format(obj.held_out_count, force_grouping=True)
    if not obj.held_out_count:
        return count
    url = (
        reverse(f"{model_admin.admin_site.name}:distribution_heldoutmember_list") + "?" + urlencode({"request": obj.pk})
    )
    return format_html('{} · <a href="{}">{}</a>', count, url, _("Show and export them"))
