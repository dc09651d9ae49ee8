from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from import_export.admin import ExportMixin, ImportExportMixin
from import_export.forms import SelectableFieldsExportForm

from couponops.exports import SpreadsheetExports
from couponops.records import ReadOnlyAdminMixin

from . import admin_pausing, live, selectors, services
from .actors import Actor
from .lookup import IssuedCouponLookup, parse_number
from .models import Coupon, DistributionRequest, IssuedCoupon, Transition
from .resources import CouponResource, DistributionRequestResource, TransitionResource
from .sources import source_names
from .writers import writer_class

Status = DistributionRequest.Status


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


class MemberCouponForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Kept in the history of the request that issued the coupon."),
    )


class RejectForm(forms.Form):
    reason = forms.CharField()


class MemberCouponView:
    """Support's page for one member's coupon (?coupon=&user_id=): its state, and revoke or restore with a reason.

    The services check the revoke permission and the row's state; this page only shows what applies."""

    template = "admin/distribution/issuedcoupon/member.html"

    def __init__(self, model_admin):
        self.model_admin = model_admin

    def view(self, request):
        if not self.model_admin.has_view_permission(request):
            raise PermissionDenied
        coupon_id, user_id = (parse_number(request.GET.get(key, "")) for key in ("coupon", "user_id"))
        row = None
        if coupon_id and user_id:
            row = (
                IssuedCoupon.objects.filter(coupon_id=coupon_id, user_id=user_id)
                .select_related("coupon", "distribution", "issue_call__client")
                .first()
            )
        form = MemberCouponForm(request.POST or None)
        if row is not None and request.method == "POST" and form.is_valid() and self._change(request, row, form):
            return HttpResponseRedirect(request.get_full_path())
        return TemplateResponse(request, self.template, self._context(request, row, form))

    def _change(self, request, row, form):
        change = {"revoke": services.issued_coupon_revoke, "restore": services.issued_coupon_restore}.get(
            request.POST.get("action")
        )
        if change is None:
            return False
        try:
            changed = change(
                coupon=row.coupon,
                user_id=row.user_id,
                actor=Actor.for_user(request.user),
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return False
        self.model_admin.message_user(
            request,
            *(
                (self._done(row), messages.SUCCESS)
                if changed
                else (_("Nothing changed: the coupon is no longer in the state this page showed."), messages.WARNING)
            ),
        )
        return True

    @staticmethod
    def _done(row):
        if row.distribution_id is None:  # issued by a Coupon API call: no request's history to point to
            return _("Done: the change is in this coupon's support history below.")
        return _("Done: the change is in the history of request #%(pk)s.") % {"pk": row.distribution_id}

    def _context(self, request, row, form):
        state = row.state() if row is not None else None
        return {
            **self.model_admin.admin_site.each_context(request),
            "title": _("One member's coupon"),
            "opts": IssuedCoupon._meta,
            "row": row,
            "state": state,
            "form": form,
            "can_change": request.user.has_perm("distribution.revoke_distributionrequest"),
            "may_revoke": row is not None and row.used_at is None and row.deleted_at is None,
            "may_restore": row is not None and row.used_at is None and row.deleted_at is not None,
            "history": selectors.member_transitions(coupon_id=row.coupon_id, user_id=row.user_id) if row else [],
        }


def progress_detail(obj):
    """“1,234,567 / 10,000,000 · 420,000 rows/s · about 21 s left” while running; the status otherwise."""
    if obj.status != DistributionRequest.Status.RUNNING:
        return obj.get_status_display()
    rate = obj.live_rate()
    counts = f"{obj.read_count:,} / {obj.target_count or 0:,}"
    if not rate:
        return counts
    left = max(0, (obj.target_count or 0) - obj.read_count) / rate
    return _("%(counts)s · %(rate)s rows/s · about %(left)s s left") % {
        "counts": counts,
        "rate": f"{rate:,.0f}",
        "left": f"{left:,.0f}",
    }


def human_duration(seconds):
    if seconds is None:
        return _("unknown until a first run has been measured")
    if seconds < 90:
        return _("about %(n)s seconds") % {"n": number_format(max(1, round(seconds)), force_grouping=True)}
    return _("about %(n)s minutes") % {"n": number_format(round(seconds / 60), force_grouping=True)}


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
        ("reissue", _("Members who had this coupon revoked (they will get it again)"), count(obj.reissue_count)),
        ("would-issue", _("Coupons that would be issued"), count(obj.would_issue)),
        ("samples", _("Sample ids"), ", ".join(str(i) for i in obj.sample_ids) or "–"),
        ("estimate", _("Estimated duration"), human_duration(obj.estimated_seconds)),
    ]


class CouponChoiceField(forms.ModelChoiceField):
    """Lists the issuable coupons; accepts any, so that one which expired after the page was loaded
    gets the service's message saying why, not "not one of the available choices"."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return Coupon.objects.with_issued().get(pk=value)
        except (ValueError, TypeError, Coupon.DoesNotExist):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice") from None

    def label_from_instance(self, coupon):
        left = coupon.budget_left()
        if left is None:
            return str(coupon)
        return _("%(coupon)s · %(left)s left in budget") % {
            "coupon": coupon,
            "left": number_format(left, force_grouping=True),
        }


class DistributionRequestForm(forms.ModelForm):
    source = forms.ChoiceField(label=capfirst(_("source")))
    coupon = CouponChoiceField(
        queryset=Coupon.objects.none(),
        label=capfirst(_("coupon")),
        help_text=_(
            "Only coupons that can be issued now are listed: inactive coupons, expired ones and those "
            "whose budget is spent are not."
        ),
    )

    class Meta:
        model = DistributionRequest
        fields = ("coupon", "source", "table", "column", "memo", "not_before")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "table" in self.fields:  # the read-only view of a submitted request has no model fields
            self.fields["source"].choices = [(name, name) for name in source_names()]
            self.fields["coupon"].queryset = Coupon.objects.issuable()
            self.fields["table"].help_text = table_help()
            self.fields["table"].widget.attrs.update(autocomplete="off", list="table-suggestions")
            self.fields["column"].widget.attrs.update(autocomplete="off", list="column-suggestions")

    def clean(self):
        """Asks the service for the preview while validating: whatever it refuses lands on its field,
        and save_model then only saves."""
        cleaned = super().clean()
        if self.errors:
            return cleaned
        draft = self.instance
        for field in ("coupon", "source", "table", "column", "not_before"):
            setattr(draft, field, cleaned[field])
        try:
            services.distribution_preview(distribution=draft)
        except ValidationError as exc:
            self.add_error(None, exc)
        else:  # the names as the metadata spells them, which the form would otherwise overwrite
            cleaned["table"], cleaned["column"] = draft.table, draft.column
        return cleaned


def table_help():
    examples = ", ".join(filter(None, (selectors.source_example_table(source=name) for name in source_names())))
    if not examples:
        return _("catalog.schema.table")
    return _("catalog.schema.table, for example %(examples)s. Suggestions appear as you type.") % {"examples": examples}


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


class ExportForm(SelectableFieldsExportForm):
    """The columns to export named as their headers read, in the reader's language (not "Read Count").
    `_get_field_label` is django-import-export's own hook for it (4.x, pinned in requirements.txt)."""

    def _get_field_label(self, resource, field_name):
        field = resource.fields.get(field_name)
        return capfirst(str(field.column_name)) if field else super()._get_field_label(resource, field_name)


def live_field(name, description, ordering=None):
    """An admin column or read-only field that the progress endpoint keeps current (distribution/live.py)."""

    @admin.display(description=description, ordering=ordering)
    def display(self, obj):
        return live.render(obj, name)

    return display


@admin.register(DistributionRequest)
class DistributionRequestAdmin(SpreadsheetExports, ExportMixin, admin.ModelAdmin):
    form = DistributionRequestForm
    resource_classes = [DistributionRequestResource]
    change_list_template = "admin/distribution/distributionrequest/change_list.html"  # + the stopped-worker banner
    export_template_name = "admin/distribution/distributionrequest/export.html"
    export_form_class = ExportForm
    # The columns a manager scans, narrow enough for a 1,400 px screen; the rest is on the request.
    list_display = ("id", "live_status", "coupon_code", "progress", "issued", "skipped", "elapsed", "requested")
    list_display_links = ("id", "coupon_code")
    list_filter = (StatusFilter, "source", "coupon", "requested_by", "created_at")
    search_fields = ("memo", "table", "coupon__code", "coupon__name")
    list_select_related = ("coupon", "requested_by")
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["approve", "retry", "cancel"]
    readonly_fields = (
        "live_status",
        "progress",
        "target_count",
        "read",
        "issued",
        "skipped",
        "elapsed",
        "rate",
        "resume_after",
        "attempts",
        "invalid_count",
        "duplicate_count",
        "held_count",
        "reissued_count",
        "reissue_count",
        "requested_by",
        "created_at",
        "confirmed_by",
        "confirmed_at",
        "approved_by",
        "approved_at",
        "queued_at",
        "started_at",
        "finished",
        "cancelled_by",
        "cancelled_at",
        "revoked_by",
        "revoked_at",
        "revoked",
        "heartbeat_at",
        "error",
        "issued_coupons",
    )

    def get_fieldsets(self, request, obj=None):
        asked = ("coupon", "source", "table", "column", "memo", "not_before")
        if obj is None:
            return [(None, {"fields": asked})]
        if obj.is_draft or obj.awaits_approval:  # nothing has run: the preview says it all
            return [
                (None, {"fields": (*asked, "live_status")}),
                (
                    _("Who and when"),
                    {"classes": ["collapse"], "fields": ("requested_by", "created_at", "confirmed_by", "confirmed_at")},
                ),
            ]
        return [
            (None, {"fields": (*asked, "live_status", "progress", "error", "issued_coupons")}),
            (
                _("Counts"),
                {
                    "fields": (
                        "target_count",
                        "read",
                        "issued",
                        "reissued_count",
                        "skipped",
                        "invalid_count",
                        "duplicate_count",
                        "held_count",
                        "reissue_count",
                        "revoked",
                        "elapsed",
                        "rate",
                    )
                },
            ),
            (
                _("Who and when"),
                {
                    "classes": ["collapse"],
                    "fields": (
                        "requested_by",
                        "created_at",
                        "confirmed_by",
                        "confirmed_at",
                        "approved_by",
                        "approved_at",
                        "queued_at",
                        "started_at",
                        "finished",
                        "cancelled_by",
                        "cancelled_at",
                        "revoked_by",
                        "revoked_at",
                    ),
                },
            ),
            (_("For the engineers"), {"classes": ["collapse"], "fields": ("resume_after", "attempts", "heartbeat_at")}),
        ]

    def has_change_permission(self, request, obj=None):
        # A submitted request is a record: it is looked at, retried or (later) cancelled, never edited.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        services.distribution_draft(distribution=obj, actor=Actor.for_user(request.user), previewed=True)

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(
            request, _("Saved as a draft. Check the preview, then confirm to queue it."), messages.SUCCESS
        )
        return HttpResponseRedirect(self._url("change", obj.pk))

    def _url(self, name, *args):
        return reverse(f"{self.admin_site.name}:distribution_distributionrequest_{name}", args=args)

    class Media:
        js = ["distribution/progress.js", "distribution/names.js"]

    live_status = live_field("status", _("status"), "status")
    progress = live_field("progress", _("progress"))
    read = live_field("read", _("read"), "read_count")
    issued = live_field("issued", _("issued"), "issued_count")
    skipped = live_field("skipped", _("skipped"), "skipped_count")
    revoked = live_field("revoked", _("revoked"), "revoked_count")
    elapsed = live_field("elapsed", _("elapsed"), "elapsed_seconds")
    rate = live_field("rate", _("members per second"), "rows_per_second")
    finished = live_field("finished", _("finished at"), "finished_at")
    error = live_field("error", _("error"))

    @admin.display(description=_("coupon"), ordering="coupon__code")
    def coupon_code(self, obj):
        return format_html('<span title="{}">{}</span>', obj.coupon.name, obj.coupon.code)

    @admin.display(description=_("requested"), ordering="created_at")
    def requested(self, obj):
        who = obj.requested_by.get_username() if obj.requested_by else _("command line")
        return format_html('{}<br><span class="when">{}</span>', who, live.when(obj.created_at))

    @admin.display(description=_("resumes after member id"))
    def resume_after(self, obj):
        return "–" if obj.checkpoint is None else str(obj.checkpoint)

    def progress_view(self, request):
        """The live parts of the requests named in ?ids=, rendered (distribution/live.py)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        ids = [parse_number(i) for i in request.GET.get("ids", "").split(",")]
        ids = [i for i in ids if i][:200]
        objs = DistributionRequest.objects.filter(pk__in=ids).select_related("coupon")
        return JsonResponse(live.states(objs, request.user))

    def names_view(self, request):
        """Suggestions for the table and column boxes, from the source's metadata (names.js asks)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        query = request.GET
        return JsonResponse(
            {
                "suggestions": selectors.source_suggestions(
                    source=query.get("source", ""), table=query.get("table", ""), column=query.get("column")
                )
            }
        )

    @admin.display(description=_("issued coupons"))
    def issued_coupons(self, obj):
        url = reverse(f"{self.admin_site.name}:distribution_issuedcoupon_list") + "?" + urlencode({"request": obj.pk})
        return format_html('<a href="{}">{}</a>', url, _("Show the coupons this request issued"))

    @admin.action(description=_("Retry the selected failed requests from where they stopped"), permissions=["change"])
    def retry(self, request, queryset):
        actor = Actor.for_user(request.user)
        retried = sum(services.distribution_retry(distribution=distribution, actor=actor) for distribution in queryset)
        self._report(
            request,
            ngettext("%(count)d request was queued again.", "%(count)d requests were queued again.", retried),
            retried,
        )

    def _report(self, request, message, count):
        self.message_user(request, message % {"count": count}, messages.SUCCESS)

    def has_approve_permission(self, request):
        return request.user.has_perm("distribution.approve_distributionrequest")

    def has_cancel_permission(self, request):
        return request.user.has_perm("distribution.cancel_distributionrequest")

    def has_revoke_permission(self, request):
        return request.user.has_perm("distribution.revoke_distributionrequest")

    def get_urls(self):
        view = self.admin_site.admin_view
        name = "distribution_distributionrequest_{}".format
        return [
            path("progress/", view(self.progress_view), name=name("progress")),
            path("names/", view(self.names_view), name=name("names")),
            *(
                path(f"<path:object_id>/{action}/", view(getattr(self, f"{action}_view")), name=name(action))
                for action in ("revoke", "confirm", "approve", "reject", "discard", "preview_again")
            ),
            *admin_pausing.urls(self),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        # The list is a history to read, not records to change: its title says what it is.
        extra_context = {
            "title": self.opts.verbose_name_plural.capitalize(),
            "progress_url": self._url("progress"),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """The form asks the service first, so its refusals land on their fields; should something change
        between that check and the save (a budget spent meanwhile), the refusal is a message, not a 500."""
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def add_view(self, request, form_url="", extra_context=None):
        # Saving makes a draft and opens its preview: "save and add another" or "continue editing" mean nothing.
        extra_context = {
            "names_url": self._url("names"),
            "show_save_and_add_another": False,
            "show_save_and_continue": False,
            **(extra_context or {}),
        }
        return super().add_view(request, form_url, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        context = {"progress_url": self._url("progress")}
        if obj is not None:
            context.update(self._decision_context(request, obj))
            context["title"] = capfirst(self.opts.verbose_name)  # the request itself is the subtitle
        return super().change_view(request, object_id, form_url, {**context, **(extra_context or {})})

    def _decision_context(self, request, obj):
        """What the request page needs beyond its fields: the preview, the approval and the history."""
        approval = obj.is_draft or obj.awaits_approval
        return {
            "can_confirm": obj.is_draft and obj.may_be_confirmed_by(request.user),
            "can_approve": obj.awaits_approval and obj.may_be_approved_by(request.user),
            "can_preview_again": obj.may_be_previewed_again and obj.may_be_previewed_again_by(request.user),
            "preview": preview_rows(obj),
            "approval_reasons": selectors.distribution_approval_reasons(distribution=obj) if approval else [],
            "approval_value": selectors.distribution_value(distribution=obj) if approval else None,
            "approvers": selectors.distribution_approvers(distribution=obj) if obj.awaits_approval else [],
            "live_tools": live.render(obj, "tools", request.user),
            "transitions": Transition.objects.filter(distribution=obj).select_related("actor"),
        }

    def _transition_view(self, request, object_id, transition):
        """POST-only endpoint for a button on the change page. The service checks who may do it (the
        button is only hidden from others); a refusal is a 403 here."""
        obj = self.get_object(request, object_id)
        if obj is None:
            # Django's own change_view answers a missing object this way (a private helper, pinned Django 5.2).
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if request.method == "POST":
            try:
                transition(request, obj, Actor.for_user(request.user))
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
        return HttpResponseRedirect(self._url("change", obj.pk))

    def confirm_view(self, request, object_id):
        return self._transition_view(request, object_id, self._confirm)

    def _confirm(self, request, obj, actor):
        status = services.distribution_confirm(distribution=obj, actor=actor)
        starts = obj.starts_later()
        queued = (
            _("Confirmed and queued; it starts at %(time)s.") % {"time": live.start_time(starts)}
            if starts
            else _("Confirmed and queued; the worker will start it in turn.")
        )
        self.message_user(
            request,
            *{
                None: (_("This request was already confirmed; nothing changed."), messages.INFO),
                Status.QUEUED: (queued, messages.SUCCESS),
                Status.AWAITING_APPROVAL: (
                    _("Confirmed. It is large, so it waits for another user's approval."),
                    messages.WARNING,
                ),
            }[status],
        )

    def approve_view(self, request, object_id):
        return self._transition_view(request, object_id, self._approve_one)

    def _approve_one(self, request, obj, actor):
        if services.distribution_approve(distribution=obj, actor=actor):
            self.message_user(request, _("Approved and queued."), messages.SUCCESS)
        else:
            self.message_user(request, _("This request is not awaiting approval; nothing changed."), messages.INFO)

    def reject_view(self, request, object_id):
        return self._transition_view(request, object_id, self._reject)

    def _reject(self, request, obj, actor):
        form = RejectForm(request.POST)  # a form field: stripped, and a NUL character refused (jsonb cannot hold it)
        if not form.is_valid():
            self.message_user(
                request,
                _("Say why you reject the request: the requester reads it.")
                if form.has_error("reason", "required")
                else " ".join(form.errors["reason"]),
                messages.ERROR,
            )
        elif services.distribution_reject(distribution=obj, actor=actor, reason=form.cleaned_data["reason"]):
            self.message_user(
                request, _("Rejected; the requester can read why in the request's history."), messages.SUCCESS
            )
        else:
            self.message_user(request, _("This request is not awaiting approval; nothing changed."), messages.INFO)

    def discard_view(self, request, object_id):
        return self._transition_view(request, object_id, self._discard)

    def _discard(self, request, obj, actor):
        if services.distribution_discard(distribution=obj, actor=actor):
            self.message_user(request, _("The draft was discarded."), messages.SUCCESS)

    def preview_again_view(self, request, object_id):
        return self._transition_view(request, object_id, self._preview_again)

    def _preview_again(self, request, obj, actor):
        if services.distribution_preview_again(distribution=obj, actor=actor):
            self.message_user(
                request,
                _("Previewed again from the table as it is now. Check the new preview, then confirm."),
                messages.WARNING,
            )

    @admin.action(description=_("Approve the selected requests awaiting approval"), permissions=["approve"])
    def approve(self, request, queryset):
        approved, actor = 0, Actor.for_user(request.user)
        for distribution in queryset.filter(status=Status.AWAITING_APPROVAL):
            try:
                approved += services.distribution_approve(distribution=distribution, actor=actor)
            except PermissionDenied as exc:
                self.message_user(request, f"#{distribution.pk}: {exc}", messages.ERROR)
        self._report(
            request,
            ngettext(
                "%(count)d request was approved and queued.", "%(count)d requests were approved and queued.", approved
            ),
            approved,
        )

    def revoke_view(self, request, object_id):
        """Revoking takes a confirmation page: how many coupons go, how many are already used."""
        if not self.has_revoke_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, object_id)
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        change_url = self._url("change", obj.pk)
        if request.method == "POST":
            if services.distribution_revoke(distribution=obj, actor=Actor.for_user(request.user)):
                self.message_user(
                    request,
                    _(
                        "Revoking has started: the unused coupons are taken back in the "
                        "background, and the request shows “Revoked” with the count when it "
                        "is done."
                    ),
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request,
                    _("Only a succeeded or cancelled request that issued coupons can be revoked."),
                    messages.ERROR,
                )
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Revoke the coupons of request #%(pk)s") % {"pk": obj.pk},
            "opts": self.opts,
            "original": obj,
            "change_url": change_url,
            "preview": selectors.distribution_revoke_preview(distribution=obj) if obj.is_revocable else None,
        }
        return TemplateResponse(request, "admin/distribution/distributionrequest/revoke.html", context)

    @admin.action(
        description=_("Cancel the selected requests (awaiting approval, queued or running)"), permissions=["cancel"]
    )
    def cancel(self, request, queryset):
        actor = Actor.for_user(request.user)
        cancelled = sum(
            services.distribution_cancel(distribution=distribution, actor=actor) for distribution in queryset
        )
        self._report(
            request,
            ngettext("%(count)d request was cancelled.", "%(count)d requests were cancelled.", cancelled),
            cancelled,
        )

    def history_view(self, request, object_id, extra_context=None):
        """The History page lists the request's transitions (whoever caused them) above the admin's own log."""
        # Looked up first: an id that is no request's (`abc`) gets the admin's redirect, not a failed query.
        distribution = self.get_object(request, unquote(object_id))
        transitions = distribution.transitions.select_related("actor") if distribution else Transition.objects.none()
        return super().history_view(request, object_id, {**(extra_context or {}), "transitions": transitions})


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


class SuperusersOnly:
    """The worker's task tables (django-q2) are for the engineers: hidden from everyone else."""

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request, *args):
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


for _model in apps.get_app_config("django_q").get_models():
    if admin.site.is_registered(_model):
        _class = type(admin.site.get_model_admin(_model))
        admin.site.unregister(_model)
        admin.site.register(_model, type(_class.__name__, (SuperusersOnly, _class), {}))
