"""Exports are data, never formulas: the one place where spreadsheet cells are made safe.

A text that starts with `=`, `+`, `-`, `@`, a tab or a carriage return runs as a formula when a
manager opens the exported CSV or XLSX (OWASP "CSV injection"; openpyxl even stores a string
starting with `=` as a formula cell). Every export resource derives from `SafeModelResource`,
which prefixes such a text with a single quote, so the cell is a plain string in both formats;
numbers stay numbers. Every exporting admin mixes in `SpreadsheetExports`, and the system check
below refuses an exporting admin that does not, so an export added later cannot forget the rule.
"""

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core import checks
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from import_export import resources, widgets
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def neutralise(value):
    """The value as a spreadsheet must show it: a text that could start a formula gets a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return QUOTE + value
    return value


def restore(value):
    """Undoes `neutralise`, so that an exported file imported again changes nothing."""
    if isinstance(value, str) and value.startswith(QUOTE) and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


class SafeModelResource(resources.ModelResource):
    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        # A number widget renders only numbers ("-5" in CSV, -5 in XLSX): a count is never a text.
        if isinstance(field.widget, widgets.NumberWidget):
            return value
        return neutralise(value)

    def before_import_row(self, row, **kwargs):
        # Imported text is stored as it is (it is data in the database); only our own quote goes.
        for column, value in row.items():
            row[column] = restore(value)


class ReportResource(SafeModelResource):
    """A resource that is only exported, for people to read: its headers as a person writes them
    ("Requested at", not "requested at"). One that is imported too keeps its field names as headers, so
    that its exported file imports again."""

    def get_export_headers(self, selected_fields=None):
        return [capfirst(header) for header in super().get_export_headers(selected_fields)]


class SpreadsheetExports:
    """Mixed in before django-import-export's admin mixin by every admin that exports."""

    formats = [CSV, XLSX]
    # Excel reads a CSV without a byte-order mark in the machine's legacy code page (CP949 on a
    # Korean Windows), which garbles Korean; the BOM makes it read UTF-8. Imports accept both.
    to_encoding = "utf-8-sig"

    def get_export_filename(self, request, queryset, file_format):
        """ "Distribution requests-2026-12-02.xlsx": what it holds in the reader's language, the site's day."""
        name = capfirst(str(self.model._meta.verbose_name_plural))
        return f"{name}-{timezone.localdate():%Y-%m-%d}.{file_format.get_extension()}"

    def get_data_for_export(self, request, queryset, **kwargs):
        data = super().get_data_for_export(request, queryset, **kwargs)
        # The XLSX sheet's name (tablib's default reads "Tablib Dataset"); a sheet name has at most 31 characters.
        data.title = capfirst(str(self.model._meta.verbose_name_plural))[:31]
        return data

    def _do_file_export(self, file_format, request, queryset, export_form=None):
        # A Korean file name needs RFC 6266's filename*; django-import-export writes a plain filename="…"
        # (its private helper, pinned 4.x in requirements.txt).
        response = super()._do_file_export(file_format, request, queryset, export_form)
        filename = self.get_export_filename(request, queryset, file_format)
        response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
        return response

    def export_action(self, request):
        # The export takes the list's filters from its address; the list answers bad ones with a redirect,
        # the export would fail (an unreadable date, a field that is not there).
        try:
            return super().export_action(request)
        except IncorrectLookupParameters:
            self.message_user(
                request,
                _(
                    "The filters in the address are not valid, so nothing was exported. "
                    "Choose them on the list, then export."
                ),
                messages.ERROR,
            )
            opts = self.model._meta
            return redirect(reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist"))


def check_export_admins(app_configs=None, **kwargs):
    """Every exporting admin uses safe resources and the safe CSV encoding."""
    errors = []
    for model_admin in admin.site._registry.values():
        if not isinstance(model_admin, ExportMixin):
            continue
        unsafe = not isinstance(model_admin, SpreadsheetExports) or any(
            not issubclass(resource, SafeModelResource) for resource in model_admin.get_export_resource_classes(None)
        )
        if unsafe:
            errors.append(
                checks.Error(
                    f"{type(model_admin).__name__} exports without neutralising formulas",
                    hint="Mix in common.exports.SpreadsheetExports and derive its resources from SafeModelResource.",
                    obj=model_admin,
                    id="couponops.E001",
                )
            )
    return errors
