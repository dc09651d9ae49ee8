"""django-import-export resources: request history out (CSV/XLSX), coupons in and out.

Both derive from SafeModelResource: an exported cell is data, never a formula (common/exports.py).
"""

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from import_export import fields, widgets

from common.exports import ReportResource, SafeModelResource
from common.formats import moment

from .models import Coupon, DistributionRequest, Transition


class CouponResource(SafeModelResource):
    class Meta:
        model = Coupon
        import_id_fields = ("code",)
        fields = ("code", "name", "discount_kind", "discount_amount", "valid_days", "budget", "is_active")
        skip_unchanged = True
        # The add form's rules (choices, ranges, the code's characters) for every imported row, too.
        clean_model_instances = True

    def get_diff_headers(self):
        # The import's preview names its columns as the coupon form does, in the reader's language; the
        # file's own headers stay the field names, so that one file imports whatever the language.
        return [capfirst(Coupon._meta.get_field(field.attribute).verbose_name) for field in self.get_import_fields()]

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        # A row's error names its column as the preview's headers do ("Discount amount"), not the field
        # ("discount_amount") that django-import-export keys it by.
        try:
            super().validate_instance(instance, import_validation_errors, validate_unique)
        except ValidationError as exc:
            raise ValidationError({_column_label(name): errors for name, errors in exc.message_dict.items()}) from exc


def _column_label(name):
    if name == NON_FIELD_ERRORS:
        return name
    try:
        return str(capfirst(Coupon._meta.get_field(name).verbose_name))
    except FieldDoesNotExist:
        return name


def _text(attribute, header):
    return fields.Field(attribute=attribute, column_name=header, widget=widgets.CharWidget(), readonly=True)


def _number(attribute, header):
    # Plain numbers: a CSV cell 40000 and an XLSX number, never a quoted "40,000".
    return fields.Field(
        attribute=attribute, column_name=header, widget=widgets.NumberWidget(coerce_to_string=False), readonly=True
    )


def _time(attribute, header):
    return fields.Field(attribute=attribute, column_name=header, widget=LocalTimeWidget(), readonly=True)


class LocalTimeWidget(widgets.Widget):
    """A moment in the site's time zone: a date cell in XLSX (naive, as Excel has no zones), the moment as
    the pages write it in CSV."""

    def render(self, value, obj=None, **kwargs):
        if value and kwargs.get("force_native_type"):  # XLSX: django-import-export asks for native values
            return timezone.localtime(value).replace(tzinfo=None)
        return moment(value, empty="")


class DistributionRequestResource(ReportResource):
    """The request history for people: headers in the reader's language, statuses in words, plain numbers,
    rounded seconds, who decided what."""

    id = _number("id", _("request"))
    status = _text("get_status_display", _("status"))
    coupon = _text("coupon__code", _("coupon code"))
    coupon_name = _text("coupon__name", _("coupon name"))
    source = _text("source", _("source"))
    table = _text("table", _("table"))
    column = _text("column", _("user id column"))
    memo = _text("memo", _("memo"))
    requested_by = _text("requested_by__username", _("requested by"))
    created_at = _time("created_at", _("requested at"))
    confirmed_by = _text("confirmed_by__username", _("confirmed by"))
    approved_by = _text("approved_by__username", _("approved by"))
    not_before = _time("not_before", _("start at"))
    started_at = _time("started_at", _("started at"))
    finished_at = _time("finished_at", _("finished at"))
    target_count = _number("target_count", _("targets"))
    read_count = _number("read_count", _("read"))
    issued_count = _number("issued_count", _("issued"))
    reissued_count = _number("reissued_count", _("re-issued"))
    skipped_count = _number("skipped_count", _("skipped (already held)"))
    held_out_count = _number("held_out_count", _("held out"))
    elapsed_seconds = _number("elapsed_seconds", _("elapsed (s)"))
    rows_per_second = _number("rows_per_second", _("members per second"))
    error_message = _text("error_text", _("error"))  # the reader's language, as on the page
    rejected_by = _text("rejected_by__username", _("rejected by"))
    rejected_at = _time("rejected_at", _("rejected at"))
    rejection_reason = _text("rejection_reason", _("reason for rejecting"))
    cancelled_by = _text("cancelled_by__username", _("cancelled by"))
    cancelled_at = _time("cancelled_at", _("cancelled at"))
    revoked_by = _text("revoked_by__username", _("revoked by"))
    revoked_at = _time("revoked_at", _("revoked at"))
    revoked_count = _number("revoked_count", _("revoked"))

    class Meta:
        model = DistributionRequest
        fields = (
            "id",
            "status",
            "coupon",
            "coupon_name",
            "source",
            "table",
            "column",
            "memo",
            "requested_by",
            "created_at",
            "confirmed_by",
            "approved_by",
            "not_before",
            "started_at",
            "finished_at",
            "target_count",
            "read_count",
            "issued_count",
            "reissued_count",
            "skipped_count",
            "held_out_count",
            "elapsed_seconds",
            "rows_per_second",
            "error_message",
            "rejected_by",
            "rejected_at",
            "rejection_reason",
            "cancelled_by",
            "cancelled_at",
            "revoked_by",
            "revoked_at",
            "revoked_count",
        )
        export_order = fields

    def dehydrate_elapsed_seconds(self, obj):
        return round(obj.elapsed_seconds, 1)

    def dehydrate_rows_per_second(self, obj):
        return round(obj.rows_per_second) if obj.rows_per_second else None

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related(
                "coupon", "requested_by", "confirmed_by", "approved_by", "rejected_by", "cancelled_by", "revoked_by"
            )
        )


class TransitionResource(ReportResource):
    """The audit trail for people: every transition of every request, in the reader's language."""

    at = _time("at", _("at"))
    distribution = _number("distribution_id", _("request"))
    action = _text("get_action_display", _("what happened"))
    status = _text("get_status_display", _("status after"))
    by = _text("by_text", _("by"))  # as the history on the page says it: a person, or "the system"
    read = _number("read_count", _("read"))
    issued = _number("issued_count", _("issued"))
    reissued = _number("reissued_count", _("re-issued"))
    details = _text("details_text", _("details"))

    class Meta:
        model = Transition
        fields = (
            "at",
            "distribution",
            "action",
            "status",
            "by",
            "read",
            "issued",
            "reissued",
            "details",
        )
        export_order = fields
