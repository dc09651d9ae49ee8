"""The coupon admin: coupons in and out of spreadsheets, and the pages of issued coupons."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin

from common.exports import SpreadsheetExports
from common.formats import discount

from ..lookup import IssuedCouponLookup
from ..models import Coupon, IssuedCoupon
from ..resources import CouponResource
from .coupon_states import CouponStateFilter, coupon_state, expired_warning
from .holdout import holdout_urls
from .members import MemberCouponView


@admin.register(Coupon)
class CouponAdmin(SpreadsheetExports, ImportExportMixin, admin.ModelAdmin):
    resource_classes = [CouponResource]
    change_list_template = "admin/distribution/coupon/change_list.html"
    list_display = ("name", "code", "state", "discount", "valid_days", "budget", "issue_until", "results")
    list_filter = (CouponStateFilter, "is_active", "discount_kind")
    search_fields = ("name", "code")

    @admin.display(description=_("state"))
    def state(self, obj):
        state = coupon_state(obj)
        return format_html('<span class="coupon-state coupon-{}">{}</span>', state, state.label)

    @admin.display(description=_("discount"), ordering="discount_amount")
    def discount(self, obj):
        return discount(obj.discount_kind, obj.discount_amount)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if obj.is_expired():
            self.message_user(request, expired_warning(obj), messages.WARNING)

    def get_urls(self):
        issued = self.admin_site.admin_view(self.issued_coupons_view)
        member = self.admin_site.admin_view(MemberCouponView(self).view)
        return [
            path("issued/", issued, name="distribution_issuedcoupon_list"),
            path("issued/member/", member, name="distribution_issuedcoupon_member"),
            *holdout_urls(self),
        ] + super().get_urls()

    @admin.display(description=_("results"))
    def results(self, obj):
        url = reverse(f"{self.admin_site.name}:distribution_coupon_results", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Results"))

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
            "can_change": request.user.has_perm("distribution.revoke_distributionrequest"),
            "member_url": reverse(f"{self.admin_site.name}:distribution_issuedcoupon_member"),
        }
        return TemplateResponse(request, "admin/distribution/issuedcoupon/list.html", context)
