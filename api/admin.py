from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from common.records import ReadOnlyAdminMixin

from . import services
from .models import ApiClient, IssueCall


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"), choices=ApiClient.Scope.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiClient
        fields = ("name", "scopes")


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    form = ApiClientForm
    list_display = ("name", "key_display", "scope_labels", "is_active", "last_used_at", "created_at", "created_by")
    list_filter = ("is_active",)
    search_fields = ("name", "key_prefix")
    readonly_fields = ("key_display", "is_active", "revoked_at", "last_used_at", "created_at", "created_by")
    actions = ["revoke_keys"]

    @admin.display(description=_("key"))
    def key_display(self, obj):
        return obj.key_display if obj.pk else "–"

    @admin.display(description=_("scopes"))
    def scope_labels(self, obj):
        return obj.scope_labels()

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        # Coupons keep pointing at the client that issued or redeemed them: revoke a key, never delete it.
        return False

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        # A new client's key is made by the service; the view below shows it once and never again.
        created, request._api_key = services.api_client_create(
            name=obj.name, scopes=form.cleaned_data["scopes"], created_by=request.user
        )
        obj.pk = created.pk

    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "title": _("The new API key"),
            "opts": self.opts,
            "client": ApiClient.objects.get(pk=obj.pk),
            "key": request._api_key,
        }
        return TemplateResponse(request, "admin/api/apiclient/key_created.html", context)

    @admin.action(description=_("Revoke the selected clients' keys"), permissions=["change"])
    def revoke_keys(self, request, queryset):
        revoked = sum(services.api_client_revoke(client=client) for client in queryset)
        self.message_user(
            request, ngettext("%(n)d key revoked.", "%(n)d keys revoked.", revoked) % {"n": revoked}, messages.SUCCESS
        )


@admin.register(IssueCall)
class IssueCallAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Where coupons issued through the API came from: read-only history."""

    list_display = (
        "at",
        "client",
        "coupon",
        "idempotency_key",
        "issued_count",
        "reissued_count",
        "already_held_count",
        "invalid_count",
    )
    list_filter = ("client", "coupon")
    search_fields = ("idempotency_key", "coupon__code")
    list_select_related = ("client", "coupon")
    date_hierarchy = "at"
    show_full_result_count = False
