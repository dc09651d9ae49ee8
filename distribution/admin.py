from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from import_export.admin import ExportMixin, ImportExportMixin
from import_export.formats.base_formats import CSV, XLSX

from . import selectors, services
from .actors import Actor
from .models import Coupon, DistributionRequest, IssuedCoupon, Transition
from .resources import CouponResource, DistributionRequestResource
from .sources import source_names

Status = DistributionRequest.Status


@admin.register(Coupon)
class CouponAdmin(ImportExportMixin, admin.ModelAdmin):
    resource_classes = [CouponResource]
    formats = [CSV, XLSX]
    change_list_template = "admin/distribution/coupon/change_list.html"
    list_display = ("name", "code", "discount_kind", "discount_amount", "valid_days", "budget", "is_active",
                    "created_at")
    list_filter = ("is_active", "discount_kind")
    search_fields = ("name", "code")

    def get_urls(self):
        issued = self.admin_site.admin_view(self.issued_coupons_view)
        member = self.admin_site.admin_view(MemberCouponView(self).view)
        return [path("issued/", issued, name="distribution_issuedcoupon_list"),
                path("issued/member/", member, name="distribution_issuedcoupon_member")] + super().get_urls()

    def issued_coupons_view(self, request):
        # IssuedCoupon has a composite primary key, which ModelAdmin does not support (Django 5.2),
        # so its read-only list is a view of its own, reached from the coupon admin.
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": _("Issued coupons"),
            "opts": IssuedCoupon._meta,
            "page": IssuedCouponPage.from_query(request.GET),
        }
        return TemplateResponse(request, "admin/distribution/issuedcoupon/list.html", context)


class MemberCouponForm(forms.Form):
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                             help_text=_("Kept in the history of the request that issued the coupon."))


class MemberCouponView:
    """Support's page for one member's coupon (?coupon=&user_id=): its state, and revoke or restore with a reason.

    The services check the revoke permission and the row's state; this page only shows what applies."""

    template = "admin/distribution/issuedcoupon/member.html"

    def __init__(self, model_admin):
        self.model_admin = model_admin

    def view(self, request):
        if not self.model_admin.has_view_permission(request):
            raise PermissionDenied
        coupon_id, user_id = (request.GET.get(key, "") for key in ("coupon", "user_id"))
        row = None
        if coupon_id.isdigit() and user_id.isdigit():
            row = IssuedCoupon.objects.filter(coupon_id=int(coupon_id), user_id=int(user_id)).select_related(
                "coupon", "distribution").first()
        form = MemberCouponForm(request.POST or None)
        if row is not None and request.method == "POST" and form.is_valid():
            if self._change(request, row, form):
                return HttpResponseRedirect(request.get_full_path())
        return TemplateResponse(request, self.template, self._context(request, row, form))

    def _change(self, request, row, form):
        change = {"revoke": services.issued_coupon_revoke, "restore": services.issued_coupon_restore}.get(
            request.POST.get("action"))
        if change is None:
            return False
        try:
            changed = change(coupon=row.coupon, user_id=row.user_id, actor=Actor.for_user(request.user),
                             reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form.add_error(None, exc)
            return False
        self.model_admin.message_user(request, *(
            (_("Done: the change is in the history of request #%(pk)s.") % {"pk": row.distribution_id},
             messages.SUCCESS) if changed else
            (_("Nothing changed: the coupon is no longer in the state this page showed."), messages.WARNING)))
        return True

    def _context(self, request, row, form):
        state = row.state() if row is not None else None
        return {
            **self.model_admin.admin_site.each_context(request), "title": _("One member's coupon"),
            "opts": IssuedCoupon._meta, "row": row, "state": state, "form": form,
            "can_change": request.user.has_perm("distribution.revoke_distributionrequest"),
            "may_revoke": row is not None and row.used_at is None and row.deleted_at is None,
            "may_restore": row is not None and row.used_at is None and row.deleted_at is not None,
            "history": selectors.member_transitions(coupon_id=row.coupon_id, user_id=row.user_id) if row else [],
        }


class IssuedCouponPage:
    """A page of issued coupons, walked by primary key: the table is far too large to count."""

    filter_fields = {"coupon": "coupon_id", "request": "distribution_id", "user_id": "user_id"}

    def __init__(self, filters, after=None):
        self.filters = filters
        rows = IssuedCoupon.objects.filter(**filters).order_by("coupon_id", "user_id")
        if after:
            rows = rows.filter(pk__gt=after)
        size = settings.ADMIN_ISSUED_COUPONS_PER_PAGE
        fetched = list(rows[: size + 1])
        self.rows, self.has_next = fetched[:size], len(fetched) > size

    @classmethod
    def from_query(cls, query):
        filters = {
            field: int(query[key]) for key, field in cls.filter_fields.items() if query.get(key, "").isdigit()
        }
        after = query.get("after", "").split(":")
        after_key = tuple(map(int, after)) if len(after) == 2 and all(p.isdigit() for p in after) else None
        return cls(filters, after_key)

    @property
    def form_values(self):
        return {key: self.filters.get(field, "") for key, field in self.filter_fields.items()}

    @property
    def next_query(self):
        last = self.rows[-1]
        values = {key: value for key, value in self.form_values.items() if value != ""}
        return urlencode({**values, "after": f"{last.coupon_id}:{last.user_id}"})


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
        "counts": counts, "rate": f"{rate:,.0f}", "left": f"{left:,.0f}"}


def human_duration(seconds):
    if seconds is None:
        return _("unknown until a first run has been measured")
    if seconds < 90:
        return _("about %(n)s seconds") % {"n": number_format(max(1, round(seconds)), force_grouping=True)}
    return _("about %(n)s minutes") % {"n": number_format(round(seconds / 60), force_grouping=True)}


def preview_rows(obj):
    """The draft's preview as (label, value) lines, numbers formatted for the reader's language."""
    def count(value):
        return _("not counted in advance (audience too large); the run reports it") if value is None \
            else number_format(value, force_grouping=True)
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


class DistributionRequestForm(forms.ModelForm):
    source = forms.ChoiceField(label=_("source"))

    class Meta:
        model = DistributionRequest
        fields = ("coupon", "source", "table", "column", "memo", "not_before")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "coupon" in self.fields:  # the read-only view of a submitted request has no fields
            self.fields["source"].choices = [(name, name) for name in source_names()]
            self.fields["coupon"].queryset = Coupon.objects.filter(is_active=True)

    def clean(self):
        cleaned = super().clean()
        self.audience = None
        if not self.errors:
            try:
                self.audience = selectors.audience_check(
                    source=cleaned["source"], table=cleaned["table"], column=cleaned["column"])
            except ValidationError as exc:
                self.add_error(None, exc)
        return cleaned


@admin.register(DistributionRequest)
class DistributionRequestAdmin(ExportMixin, admin.ModelAdmin):
    form = DistributionRequestForm
    resource_classes = [DistributionRequestResource]
    formats = [CSV, XLSX]
    list_display = (
        "id", "live_status", "coupon", "table", "progress", "read_count", "issued_count", "skipped_count",
        "elapsed", "throughput", "requested_by", "created_at", "finished_at",
    )
    list_filter = ("status", "source", "coupon", "requested_by", "created_at")
    search_fields = ("memo", "table", "coupon__code")
    list_select_related = ("coupon", "requested_by")
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["approve", "retry", "cancel"]
    readonly_fields = (
        "live_status", "progress", "target_count", "read_count", "issued_count", "reissued_count", "skipped_count",
        "reissue_count", "elapsed",
        "throughput", "checkpoint", "attempts", "invalid_count", "duplicate_count", "held_count",
        "requested_by", "created_at", "confirmed_by", "confirmed_at", "approved_by", "approved_at", "queued_at",
        "started_at", "finished_at", "cancelled_by", "cancelled_at", "revoked_by", "revoked_at", "revoked_count",
        "heartbeat_at", "error_message", "issued_coupons",
    )

    def get_fieldsets(self, request, obj=None):
        asked = ("coupon", "source", "table", "column", "memo", "not_before")
        if obj is None:
            return [(None, {"fields": asked})]
        return [
            (None, {"fields": (*asked, "live_status", "progress", "error_message", "issued_coupons")}),
            (_("Counts"), {"fields": ("target_count", "read_count", "issued_count", "reissued_count", "skipped_count",
                                      "invalid_count", "duplicate_count", "held_count", "reissue_count", "elapsed", "throughput", "checkpoint",
                                      "attempts", "revoked_count")}),
            (_("Who and when"), {"classes": ["collapse"], "fields": (
                "requested_by", "created_at", "confirmed_by", "confirmed_at", "approved_by", "approved_at",
                "queued_at", "started_at", "heartbeat_at", "finished_at", "cancelled_by", "cancelled_at",
                "revoked_by", "revoked_at")}),
        ]

    def has_change_permission(self, request, obj=None):
        # A submitted request is a record: it is looked at, retried or (later) cancelled, never edited.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        services.distribution_draft(distribution=obj, actor=Actor.for_user(request.user), audience=form.audience)

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, _("Saved as a draft. Check the preview, then confirm to queue it."),
                          messages.WARNING)
        return HttpResponseRedirect(self._url("change", obj.pk))

    def _url(self, name, *args):
        return reverse(f"{self.admin_site.name}:distribution_distributionrequest_{name}", args=args)

    class Media:
        js = ["distribution/progress.js"]

    @admin.display(description=_("progress"))
    def progress(self, obj):
        return format_html(
            '<span class="live-progress" data-request="{}" data-live="{}" data-url="{}">'
            '<progress max="100" value="{}"></progress> <span class="percent">{}%</span> '
            '<span class="detail">{}</span></span>',
            obj.pk, "true" if obj.is_live else "false", self._url("progress"),
            obj.progress_percent, obj.progress_percent, progress_detail(obj),
        )

    def progress_view(self, request):
        """The live state of the requests named in ?ids=, for the progress bars' polling."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        ids = [int(i) for i in request.GET.get("ids", "").split(",") if i.isdigit()][:200]
        states = {
            str(obj.pk): {"status": obj.status, "live": obj.is_live, "label": str(obj.get_status_display()),
                          "percent": obj.progress_percent, "detail": str(progress_detail(obj))}
            for obj in DistributionRequest.objects.filter(pk__in=ids)
        }
        return JsonResponse(states)

    @admin.display(description=_("status"), ordering="status")
    def live_status(self, obj):
        """The status, kept current by the same polling as the progress bars."""
        return format_html('<span class="live-status" data-request="{}">{}</span>', obj.pk, obj.get_status_display())

    @admin.display(description=_("elapsed"), ordering="elapsed_seconds")
    def elapsed(self, obj):
        return f"{obj.elapsed_seconds:,.1f} s" if obj.elapsed_seconds else "–"

    @admin.display(description=_("rows/s"), ordering="rows_per_second")
    def throughput(self, obj):
        return f"{obj.rows_per_second:,.0f}" if obj.rows_per_second else "–"

    @admin.display(description=_("issued coupons"))
    def issued_coupons(self, obj):
        url = reverse(f"{self.admin_site.name}:distribution_issuedcoupon_list") + "?" + urlencode({"request": obj.pk})
        return format_html('<a href="{}">{}</a>', url, _("Show the coupons this request issued"))

    @admin.action(description=_("Retry the selected failed requests from their checkpoint"), permissions=["change"])
    def retry(self, request, queryset):
        actor = Actor.for_user(request.user)
        retried = sum(services.distribution_retry(distribution=distribution, actor=actor) for distribution in queryset)
        self._report(request, ngettext("%(count)d request was queued again.",
                                       "%(count)d requests were queued again.", retried), retried)

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
        return [path("progress/", view(self.progress_view), name=name("progress")),
                *(path(f"<path:object_id>/{action}/", view(getattr(self, f"{action}_view")), name=name(action))
                  for action in ("revoke", "confirm", "approve", "discard", "preview_again")),
                *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "can_revoke": self.has_revoke_permission(request),
            "can_confirm": obj is not None and obj.is_draft and obj.may_be_confirmed_by(request.user),
            "can_approve": obj is not None and obj.awaits_approval and obj.may_be_approved_by(request.user),
            "can_preview_again": obj is not None and obj.may_be_previewed_again and obj.may_be_confirmed_by(request.user),
            "preview": preview_rows(obj) if obj is not None else [],
            "needs_approval": obj is not None and selectors.distribution_needs_approval(distribution=obj),
        }
        return super().change_view(request, object_id, form_url, extra_context)

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
        self.message_user(request, *{
            None: (_("This request was already confirmed; nothing changed."), messages.INFO),
            Status.QUEUED: (_("Confirmed and queued; the worker will start it in turn."), messages.SUCCESS),
            Status.AWAITING_APPROVAL: (
                _("Confirmed. It is large, so it waits for another user's approval."), messages.WARNING),
        }[status])

    def approve_view(self, request, object_id):
        return self._transition_view(request, object_id, self._approve_one)

    def _approve_one(self, request, obj, actor):
        if services.distribution_approve(distribution=obj, actor=actor):
            self.message_user(request, _("Approved and queued."), messages.SUCCESS)
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
            self.message_user(request, _("Previewed again from the table as it is now. Check the new preview, then "
                                         "confirm."), messages.WARNING)

    @admin.action(description=_("Approve the selected requests awaiting approval"), permissions=["approve"])
    def approve(self, request, queryset):
        approved, actor = 0, Actor.for_user(request.user)
        for distribution in queryset.filter(status=Status.AWAITING_APPROVAL):
            try:
                approved += services.distribution_approve(distribution=distribution, actor=actor)
            except PermissionDenied as exc:
                self.message_user(request, f"#{distribution.pk}: {exc}", messages.ERROR)
        self._report(request, ngettext("%(count)d request was approved and queued.",
                                       "%(count)d requests were approved and queued.", approved), approved)

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
                self.message_user(request, _("Revoking has started; the worker soft-deletes the unused coupons and "
                                             "the request shows “Revoked” with the count when it is done."),
                                  messages.SUCCESS)
            else:
                self.message_user(request, _("Only a succeeded or cancelled request can be revoked."), messages.ERROR)
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Revoke the coupons of request #%(pk)s") % {"pk": obj.pk},
            "opts": self.opts, "original": obj, "change_url": change_url,
            "preview": selectors.distribution_revoke_preview(distribution=obj) if obj.is_revocable else None,
        }
        return TemplateResponse(request, "admin/distribution/distributionrequest/revoke.html", context)

    @admin.action(description=_("Cancel the selected queued or running requests"), permissions=["cancel"])
    def cancel(self, request, queryset):
        actor = Actor.for_user(request.user)
        cancelled = sum(services.distribution_cancel(distribution=distribution, actor=actor)
                        for distribution in queryset)
        self._report(request, ngettext("%(count)d request was cancelled.",
                                       "%(count)d requests were cancelled.", cancelled), cancelled)

    def history_view(self, request, object_id, extra_context=None):
        """The History page lists the request's transitions (whoever caused them) above the admin's own log."""
        transitions = Transition.objects.filter(distribution_id=object_id).select_related("actor")
        return super().history_view(request, object_id, {**(extra_context or {}), "transitions": transitions})


@admin.register(Transition)
class TransitionAdmin(admin.ModelAdmin):
    """Every transition of every request, read-only: nobody edits or deletes the audit trail."""

    list_display = ("at", "distribution", "action", "status", "actor_kind", "actor_name", "counts")
    list_filter = ("action", "actor_kind", "status", "at")
    search_fields = ("actor_name", "distribution__memo")
    list_select_related = ("distribution", "distribution__coupon")
    show_full_result_count = False
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
