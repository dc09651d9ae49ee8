"""The audit trail of every request, read-only."""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportMixin

from common.exports import SpreadsheetExports
from common.formats import DASH
from common.records import ReadOnlyAdminMixin

from .. import live
from ..models import Transition
from ..resources import TransitionResource


class WhoFilter(admin.ChoicesFieldListFilter):
    """The actor-kind filter, titled so that Django's "By %(title)s" reads "By who made it", not "By by"."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = _("who made it")


@admin.register(Transition)
class TransitionAdmin(ReadOnlyAdminMixin, SpreadsheetExports, ExportMixin, admin.ModelAdmin):
    """Every transition of every request, read-only: nobody edits or deletes the audit trail; exported
    with the list's filters."""

    resource_classes = [TransitionResource]
    # Narrow columns, so that the list fits a 1,400 px screen; the request's page has the rest.
    list_display = ("at", "request", "action", "status", "by", "read", "issued", "details_in_words")
    list_filter = ("action", ("actor_kind", WhoFilter), "status", "at")
    search_fields = ("actor_name", "distribution__memo")
    list_select_related = ("distribution", "distribution__coupon")
    show_full_result_count = False
    date_hierarchy = "at"

    @admin.display(description=_("request"), ordering="distribution_id")
    def request(self, obj):
        if obj.distribution is None:
            return DASH
        return format_html('#{} <span class="coupon">{}</span>', obj.distribution_id, obj.distribution.coupon.code)

    @admin.display(description=_("by"), ordering="actor_name")
    def by(self, obj):
        return obj.by_text

    @admin.display(description=_("read"))
    def read(self, obj):
        return live.count(obj.counts.get("read_count"))

    @admin.display(description=_("issued"))
    def issued(self, obj):
        return live.count(obj.counts.get("issued_count"))

    # Not `details`: a model field of that name would win over the method, and show the JSON.
    @admin.display(description=_("details"))
    def details_in_words(self, obj):
        return obj.details_text
