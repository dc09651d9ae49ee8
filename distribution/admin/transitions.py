"""The audit trail of every request, read-only."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportMixin

from common.exports import SpreadsheetExports
from common.records import ReadOnlyAdminMixin

from .. import live
from ..models import Transition
from ..resources import TransitionResource


@admin.register(Transition)
class TransitionAdmin(ReadOnlyAdminMixin, SpreadsheetExports, ExportMixin, admin.ModelAdmin):
    """Every transition of every request, read-only: nobody edits or deletes the audit trail; exported
    with the list's filters."""

    resource_classes = [TransitionResource]
    list_display = ("at", "distribution", "action", "status", "by", "read", "issued", "details")
    list_filter = ("action", "actor_kind", "status", "at")
    search_fields = ("actor_name", "distribution__memo")
    list_select_related = ("distribution", "distribution__coupon")
    show_full_result_count = False
    date_hierarchy = "at"

    @admin.display(description=_("by"), ordering="actor_name")
    def by(self, obj):
        return obj.actor_name if obj.actor_kind == Transition.ActorKind.USER else obj.get_actor_kind_display()

    @admin.display(description=_("read"))
    def read(self, obj):
        return live.count(obj.counts.get("read_count"))

    @admin.display(description=_("issued"))
    def issued(self, obj):
        return live.count(obj.counts.get("issued_count"))

    @admin.display(description=_("details"))
    def details(self, obj):
        return obj.details_text
