from types import SimpleNamespace

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from common.records import ReadOnlyAdminMixin
from distribution.admin.display import holdout_row
from distribution.models import Coupon
from distribution.sources import source_names

from . import selectors, services, timing
from .models import Schedule, ScheduleRun

UPCOMING = 5  # run times shown on a schedule's page


class ScheduleForm(forms.ModelForm):
    source = forms.ChoiceField(label=capfirst(_("source")))
    weekdays = forms.TypedMultipleChoiceField(
        label=capfirst(_("on")),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Weekly: the days of the week it runs."),
    )

    class Meta:
        model = Schedule
        fields = (
            "name",
            "coupon",
            "source",
            "table",
            "column",
            "memo",
            "kind",
            "at_time",
            "weekdays",
            "cron",
            "first_day",
            "last_day",
            "max_coupons",
            "max_value",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.preview = None
        if "coupon" not in self.fields:  # the read-only page of someone who may only look has no model fields
            return
        self.fields["source"].choices = [(name, name) for name in source_names()]
        self.fields["weekdays"].choices = list(enumerate(timing.weekday_names()))
        self.fields["coupon"].queryset = Coupon.objects.filter(is_active=True)

    def clean(self):
        """Takes the next run's preview while validating: whatever it refuses lands on its field."""
        cleaned = super().clean()
        if self.errors:
            return cleaned
        schedule = self.instance
        for field, value in cleaned.items():
            setattr(schedule, field, value)
        try:
            schedule.clean()
            self.preview = services.schedule_preview(schedule=schedule)
        except ValidationError as exc:
            self.add_error(None, exc)
        else:  # the names as the metadata spells them
            cleaned["table"], cleaned["column"] = schedule.table, schedule.column
        return cleaned


def preview_rows(schedule):
    """The saved preview as (key, label, value), numbers formatted for the reader's language; the control
    group's line as a request's preview shows it, for a coupon that keeps one."""
    preview = schedule.preview

    def count(value):
        if value is None:
            return _("not counted in advance (audience too large); the run reports it")
        return number_format(value, force_grouping=True)

    return [
        ("targets", _("Distinct members in the table"), count(preview.get("targets"))),
        ("invalid", _("Empty, zero or negative ids (never issued)"), count(preview.get("invalid"))),
        ("duplicates", _("Duplicate rows (issued once)"), count(preview.get("duplicates"))),
        ("held", _("Members who already hold this coupon (skipped)"), count(preview.get("held"))),
        *holdout_row(SimpleNamespace(coupon=schedule.coupon, holdout_count=preview.get("held_out")), count),
        ("would-issue", _("Coupons that would be issued"), count(preview.get("would_issue"))),
        ("samples", _("Sample ids"), ", ".join(str(i) for i in preview.get("samples") or []) or "–"),
    ]


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    form = ScheduleForm
    list_display = ("name", "coupon", "when", "next_run", "state", "last_run")
    list_filter = ("is_paused", "kind")
    search_fields = ("name", "coupon__code", "table")
    list_select_related = ("coupon",)
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("name", "coupon", "memo")}),
        (_("Audience"), {"fields": ("source", "table", "column")}),
        (
            _("When (in the site's time zone)"),
            {"fields": ("kind", "at_time", "weekdays", "cron", "first_day", "last_day")},
        ),
        (_("Limits per run: above them a manager approves"), {"fields": ("max_coupons", "max_value")}),
    )

    @admin.display(description=_("when"))
    def when(self, obj):
        return obj.rule_in_words

    @admin.display(description=_("next run"), ordering="next_run_at")
    def next_run(self, obj):
        return obj.next_run_in_words

    @admin.display(description=_("state"))
    def state(self, obj):
        if obj.is_paused:
            return _("Paused")
        return _("Active") if obj.next_run_at else _("Finished (past its last day)")

    @admin.display(description=_("last run"))
    def last_run(self, obj):
        run = selectors.schedule_last_run(schedule=obj)
        return run.get_outcome_display() if run else "–"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.owner = request.user
        services.schedule_save(schedule=obj, preview=form.preview)

    def response_add(self, request, obj, post_url_continue=None):
        return self._saved(request, obj)

    def response_change(self, request, obj):
        return self._saved(request, obj)

    def _saved(self, request, obj):
        """Back to the schedule's page, which shows the preview just taken and the next run times."""
        self.message_user(request, _("Saved. Check the preview of the next run below."), messages.SUCCESS)
        return HttpResponseRedirect(self._url("change", obj.pk))

    def _url(self, name, *args):
        return reverse(f"{self.admin_site.name}:campaigns_schedule_{name}", args=args)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/pause/", wrap(self.pause_view), name="campaigns_schedule_pause"),
            path("<path:object_id>/resume/", wrap(self.resume_view), name="campaigns_schedule_resume"),
            path("<path:object_id>/run-now/", wrap(self.run_now_view), name="campaigns_schedule_run_now"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        schedule = self.get_object(request, unquote(object_id))
        context = {**(extra_context or {}), **(self._page_context(request, schedule) if schedule else {})}
        return super().change_view(request, object_id, form_url, extra_context=context)

    def _page_context(self, request, schedule):
        upcoming = [] if schedule.is_paused else schedule.runs_after(timezone.now(), UPCOMING)
        return {
            "upcoming": [timing.moment_in_words(moment) for moment in upcoming],
            "rule_in_words": schedule.rule_in_words,
            "preview_rows": preview_rows(schedule) if schedule.preview else [],
            "approval_reasons": schedule.preview.get("approval_reasons", []),
            "runs": selectors.schedule_runs(schedule=schedule),
            "can_act": self.has_change_permission(request, schedule),
        }

    def pause_view(self, request, object_id):
        return self._toggle(
            request, object_id, services.schedule_pause, _("Paused: its runs are skipped until resumed.")
        )

    def resume_view(self, request, object_id):
        return self._toggle(request, object_id, services.schedule_resume, _("Resumed: it runs at its next time."))

    def run_now_view(self, request, object_id):
        schedule = self._acted_on(request, object_id)
        run = services.schedule_run_now(schedule=schedule)
        level = messages.SUCCESS if run.distribution_id else messages.WARNING
        self.message_user(request, f"{run.get_outcome_display()}. {run.note}".strip(), level)
        return HttpResponseRedirect(self._url("change", schedule.pk))

    def _toggle(self, request, object_id, service, done_message):
        schedule = self._acted_on(request, object_id)
        if service(schedule=schedule):
            self.message_user(request, done_message, messages.SUCCESS)
        return HttpResponseRedirect(self._url("change", schedule.pk))

    def _acted_on(self, request, object_id):
        """The schedule a button acts on: by POST, for someone who may change it."""
        schedule = get_object_or_404(Schedule, pk=object_id)
        if request.method != "POST" or not self.has_change_permission(request, schedule):
            raise PermissionDenied
        return schedule


@admin.register(ScheduleRun)
class ScheduleRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("schedule", "due_at", "outcome", "distribution", "note")
    list_filter = ("outcome",)
    list_select_related = ("schedule", "distribution")
    show_full_result_count = False
