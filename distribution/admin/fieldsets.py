"""Which of a request's fields its page shows, and in which group, by where the request stands."""

from django.utils.translation import gettext_lazy as _

ASKED = ("coupon", "source", "table", "column", "memo", "not_before")
COUNTS = (
    "target_count",
    "read",
    "issued",
    "reissued_count",
    "skipped",
    "held_out",
    "invalid_count",
    "duplicate_count",
    "held_count",
    "preview_reissue_count",
    "holdout_count",
    "revoked",
    "elapsed",
    "rate",
)
WHO_AND_WHEN = (
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
)
REJECTED = ("requested_by", "created_at", "confirmed_by", "confirmed_at", "rejected_by", "rejected_at")
FOR_ENGINEERS = ("resume_after", "attempts", "heartbeat_at")
READONLY_FIELDS = (
    "live_status",
    "progress",
    "error",
    "issued_coupons",
    *COUNTS,
    *WHO_AND_WHEN,
    *REJECTED[-2:],
    "rejection_reason",
    *FOR_ENGINEERS,
)


def request_fieldsets(obj, user=None):
    if obj is None:
        return [(None, {"fields": ASKED})]
    if obj.is_draft or obj.awaits_approval:  # nothing has run: the preview says it all
        return [
            (None, {"fields": (*ASKED, "live_status")}),
            (_("Who and when"), {"classes": ["collapse"], "fields": WHO_AND_WHEN[:4]}),
        ]
    if obj.is_rejected:  # it never ran: who turned it down, and why
        return [
            (None, {"fields": (*ASKED, "live_status", "rejection_reason")}),
            (_("Who and when"), {"fields": REJECTED}),
        ]
    return [
        (None, {"fields": (*ASKED, "live_status", "progress", "error", "issued_coupons")}),
        (_("Counts"), {"fields": COUNTS}),
        (_("Who and when"), {"classes": ["collapse"], "fields": WHO_AND_WHEN}),
        # Checkpoints and heartbeats mean something to the engineers only: marketers never see them.
        *([(_("For the engineers"), {"classes": ["collapse"], "fields": FOR_ENGINEERS})] if user.is_superuser else []),
    ]
