"""The coupon admin: coupons in and out of spreadsheets, and the pages of issued coupons."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin

from common.exports import SpreadsheetExports

from ..lookup import IssuedCouponLookup
from ..models import Coupon, IssuedCoupon
from ..resources import CouponResource
from .members import MemberCouponView


@admin.register(Coupon)
class CouponAdmin(SpreadsheetExports, ImportExportMixin, admin.ModelAdmin):
    resource_classes = [CouponResource]
    change_list_template = "admin/distribution/coupon/change_list.html"
    list_display = (
        "name",
        "code",
        "discount_kind",
        "discount_amount",
        "valid_days",
        "budget",
        "is_active",
        "created_at",
    )
    list_filter = ("is_active", "discount_kind")
    search_fields = ("name", "code")

    def get_urls(self):
        issued = self.admin_site.admin_view(self.issued_coupons_view)
        member = self.admin_site.admin_view(MemberCouponView(self).view)
        return [
            path("issued/", issued, name="distribution_issuedcoupon_list"),
            path("issued/member/", member, name="distribution_issuedcoupon_member"),
        ] + super().get_urls()

    def issued_coupons_view(self, request):
        # IssuedCoupon has a composite primary key, which ModelAdmin does not support (Django 5.2),
        # so its read-only list is a view of its own, reached from the coupon admin.
        if not self.has_view_permission(request):
            raise PermissionDenied
        lookup = IssuedCouponLookup(request.GET)
        now = timezone.now()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Issued coupons"),
            "opts": IssuedCoupon._meta,
            "lookup": lookup,
            "rows": [
                {"row": row, "state": row.state(now), "state_label": row.State(row.state(now)).label}
                for row in lookup.rows
            ],
            "member_url": reverse(f"{self.admin_site.name}:distribution_issuedcoupon_member"),
        }
        return TemplateResponse(request, "admin/distribution/issuedcoupon/list.html", context)
