"""The request admin: the history list, the add form with its preview, and the request's page."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportMixin

from common.exports import SpreadsheetExports
from common.formats import DASH

from .. import live, selectors, services
from ..actors import Actor
from ..lifecycle import Move
from ..lookup import parse_number
from ..models import DistributionRequest, Transition
from ..resources import DistributionRequestResource
from . import pausing
from .decisions import DecisionViews
from .display import StatusFilter, live_field, preview_rows
from .fieldsets import READONLY_FIELDS, request_fieldsets
from .forms import DistributionRequestForm, ExportForm
from .holdout import held_out_link
from .list_actions import ListActions


@admin.register(DistributionRequest)
class DistributionRequestAdmin(DecisionViews, ListActions, SpreadsheetExports, ExportMixin, admin.ModelAdmin):
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
    readonly_fields = READONLY_FIELDS

    def get_fieldsets(self, request, obj=None):
        return request_fieldsets(obj, request.user)

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
        return DASH if obj.checkpoint is None else str(obj.checkpoint)

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

    @admin.display(description=_("held out"))
    def held_out(self, obj):
        return held_out_link(self, obj)

    @admin.display(description=_("issued coupons"))
    def issued_coupons(self, obj):
        url = reverse(f"{self.admin_site.name}:distribution_issuedcoupon_list") + "?" + urlencode({"request": obj.pk})
        return format_html('<a href="{}">{}</a>', url, _("Show the coupons this request issued"))

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
            *pausing.urls(self),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {  # its heading is every list's (templates/admin/base_site.html)
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
        nothing_to_issue = obj.nothing_to_issue() if obj.is_draft else None
        return {
            "nothing_to_issue": nothing_to_issue,
            "can_confirm": not nothing_to_issue and obj.may(Move.CONFIRMED, request.user),
            "can_discard": obj.may(Move.DISCARDED, request.user),
            "can_approve": obj.may(Move.APPROVED, request.user),
            "can_preview_again": obj.may(Move.PREVIEWED_AGAIN, request.user),
            "preview": preview_rows(obj),
            "approval_reasons": selectors.distribution_approval_reasons(distribution=obj) if approval else [],
            "approval_value": selectors.distribution_value(distribution=obj) if approval else None,
            "approvers": selectors.distribution_approvers(distribution=obj) if obj.awaits_approval else [],
            "live_tools": live.render(obj, "tools", request.user),
            "transitions": Transition.objects.filter(distribution=obj).select_related("actor"),
        }

    def history_view(self, request, object_id, extra_context=None):
        """The History page lists the request's transitions (whoever caused them) above the admin's own log."""
        # Looked up first: an id that is no request's (`abc`) gets the admin's redirect, not a failed query.
        distribution = self.get_object(request, unquote(object_id))
        transitions = distribution.transitions.select_related("actor") if distribution else Transition.objects.none()
        return super().history_view(request, object_id, {**(extra_context or {}), "transitions": transitions})
