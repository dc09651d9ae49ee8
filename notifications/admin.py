from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services, transports
from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "event",
        "distribution",
        "destination",
        "status",
        "attempts",
        "created_at",
        "sent_at",
        "last_error",
    )
    list_filter = ("status", "event", "destination")
    list_select_related = ("distribution",)
    search_fields = ("last_error",)
    show_full_result_count = False
    actions = ["resend"]
    fields = (
        "event",
        "distribution",
        "destination",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "next_attempt_at",
        "sent_at",
        "payload",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    @admin.action(description=_("Send the selected notifications again"), permissions=["change"])
    def resend(self, request, queryset):
        if transports.configured_destination() == "none":
            self.message_user(
                request,
                _(
                    "No Slack is configured: set SLACK_WEBHOOK_URL, or SLACK_BOT_TOKEN and "
                    "SLACK_CHANNEL, then send again."
                ),
                messages.WARNING,
            )
            return
        count = sum(services.notification_resend(notification=n) for n in queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d notification queued to be sent again.",
                "%(count)d notifications queued to be sent again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
