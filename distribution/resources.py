"""django-import-export resources: request history out (CSV/XLSX), coupons in and out."""

from import_export import fields, resources

from .models import Coupon, DistributionRequest


class CouponResource(resources.ModelResource):
    class Meta:
        model = Coupon
        import_id_fields = ("code",)
        fields = ("code", "name", "discount_kind", "discount_amount", "valid_days", "budget", "is_active")
        skip_unchanged = True


class DistributionRequestResource(resources.ModelResource):
    coupon = fields.Field(attribute="coupon__code", column_name="coupon")
    requested_by = fields.Field(attribute="requested_by__username", column_name="requested_by")

    class Meta:
        model = DistributionRequest
        fields = (
            "id", "status", "coupon", "source", "table", "column", "memo", "requested_by", "created_at",
            "started_at", "finished_at", "target_count", "read_count", "issued_count", "reissued_count", "skipped_count",
            "elapsed_seconds", "rows_per_second", "error_message", "cancelled_at", "revoked_at", "revoked_count",
        )
        export_order = fields
