"""What the request pages show beyond the model's fields: the preview's lines, live columns, the status filter."""

from django.contrib import admin
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from common.formats import DASH

from .. import live
from ..models import DistributionRequest
from ..writers import writer_class

Status = DistributionRequest.Status


def human_duration(seconds):
    if seconds is None:
        return _("unknown until a first run has been measured")
    if seconds < 90:
        return _("about %(n)s seconds") % {"n": number_format(max(1, round(seconds)), force_grouping=True)}
    return _("about %(n)s minutes") % {"n": number_format(round(seconds / 60), force_grouping=True)}


def holdout_row(obj, count):
    """The preview's control-group line, for a coupon that keeps one."""
    if not obj.coupon.holdout_percent:
        return []
    label = _("Members in the coupon's control group, %(percent)s%% (held out, never issued)")
    return [("holdout", label % {"percent": number_format(obj.coupon.holdout_percent)}, count(obj.holdout_count))]


def preview_rows(obj):
    """The draft's preview as (label, value) lines, numbers formatted for the reader's language."""
    unknown = (
        _("counted by the coupon service during the run")
        if writer_class().remote
        else _("not counted in advance (audience too large); the run reports it")
    )

    def count(value):
        return unknown if value is None else number_format(value, force_grouping=True)

    return [
        ("targets", _("Distinct members in the table"), count(obj.target_count)),
        ("invalid", _("Empty, zero or negative ids (never issued)"), count(obj.invalid_count)),
        ("duplicates", _("Duplicate rows (issued once)"), count(obj.duplicate_count)),
        ("held", _("Members who already hold this coupon (skipped)"), count(obj.held_count)),
        (
            "reissue",
            _("Members who had this coupon revoked (they will get it again)"),
            count(obj.preview_reissue_count),
        ),
        *holdout_row(obj, count),
        ("would-issue", _("Coupons that would be issued"), count(obj.would_issue)),
        ("samples", _("Sample ids"), ", ".join(str(i) for i in obj.sample_ids) or DASH),
        ("estimate", _("Estimated duration"), human_duration(obj.estimated_seconds)),
    ]


class StatusFilter(admin.SimpleListFilter):
    """Status, with discarded drafts left out unless asked for: they are not part of the history."""

    title = _("status")
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [*Status.choices, (self.ALL, _("All, discarded drafts included"))]

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "display": _("All but discarded drafts"),
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "display": title,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
            }

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset.exclude(status=Status.DISCARDED)
        if self.value() == self.ALL:
            return queryset
        return queryset.filter(status=self.value())


def live_field(name, description, ordering=None):
    """An admin column or read-only field that the progress endpoint keeps current (distribution/live.py)."""

    @admin.display(description=description, ordering=ordering)
    def display(self, obj):
        return live.render(obj, name)

    return display
