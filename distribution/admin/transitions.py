"""The audit trail of every request, read-only."""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from import_export.admin import ExportMixin

from common.exports import SpreadsheetExports
from common.formats import DASH
from common.records import ReadOnlyAdminMixin

from .. import live
from ..actors import Kind
from ..models import Transition
from ..resources import TransitionResource

SYSTEM_KINDS = (Kind.WORKER, Kind.WATCHDOG)


class WhoFilter(admin.SimpleListFilter):
    """Who made the move, in the history's words: a person, the system (the worker and its watchdog are one
    thing to the reader), the command line or a schedule; titled so that it reads "By who made it", not
    "By by"."""

    title = _("who made it")
    parameter_name = "by"
    SYSTEM = "system"

    def lookups(self, request, model_admin):
        others = [(kind, label) for kind, label in Kind.choices if kind not in (Kind.USER, *SYSTEM_KINDS)]
        return [(Kind.USER, _("a person")), (self.SYSTEM, pgettext_lazy("actor", "the system")), *others]

    def queryset(self, request, queryset):
        if self.value() == self.SYSTEM:
            return queryset.filter(actor_kind__in=SYSTEM_KINDS)
        return queryset.filter(actor_kind=self.value()) if self.value() else queryset


@admin.register(Transition)
class TransitionAdmin(ReadOnlyAdminMixin, SpreadsheetExports, ExportMixin, admin.ModelAdmin):
    """Every transition of every request, read-only: nobody edits or deletes the audit trail; exported
    with the list's filters."""

    resource_classes = [TransitionResource]
    # Narrow columns, so that the list fits a 1,400 px screen; the request's page has the rest.
    list_display = ("at", "request", "action", "status", "by", "read", "issued", "details_in_words")
    list_filter = ("action", WhoFilter, "status", "at")
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
