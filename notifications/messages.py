"""Renders a distribution event as a Slack message: Block Kit with a plain-text fallback."""

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

TITLES = {
    "approval_needed": ("🙋", gettext_noop("Coupon distribution #%(pk)s needs approval")),
    "started": ("🚀", gettext_noop("Coupon distribution #%(pk)s started")),
    "succeeded": ("✅", gettext_noop("Coupon distribution #%(pk)s succeeded")),
    "failed": ("❌", gettext_noop("Coupon distribution #%(pk)s failed")),
    "cancelled": ("🛑", gettext_noop("Coupon distribution #%(pk)s cancelled")),
    "revoked": ("↩️", gettext_noop("Coupons of distribution #%(pk)s revoked")),
}


def render(event, request):
    """The payload for one event, in the site's language."""
    with translation.override(settings.LANGUAGE_CODE):
        title, facts, link = _title(event, request), _facts(event, request), _admin_link(request)
        error_label, open_label = _("Error"), _("Open the request in the admin")
        errors = [request.error_message] if event == "failed" else []
        text = "\n".join([title, *(f"{label}: {value}" for label, value in facts),
                          *(f"{error_label}: {error}" for error in errors), link])
        blocks = [
            {"type": "header", "text": {"type": "plain_text", "text": title}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{label}*\n{value}"}
                                           for label, value in facts[:10]]},
            *({"type": "section", "text": {"type": "mrkdwn", "text": f"*{error_label}*\n```{error[:2500]}```"}}
              for error in errors),
            {"type": "section", "text": {"type": "mrkdwn", "text": f"<{link}|{open_label}>"}},
        ]
    return {"text": text, "blocks": blocks}


def _title(event, request):
    emoji, title = TITLES[event]
    return f"{emoji} " + _(title) % {"pk": request.pk}


def _facts(event, request):
    facts = [
        (_("Coupon"), f"{request.coupon.name} ({request.coupon.code})"),
        (_("Requested by"), request.requested_by.get_username() if request.requested_by else _("command line")),
        (_("Memo"), request.memo or "–"),
        (_("Source table"), f"{request.source}: {request.table}.{request.column}"),
        (_("Targets"), _number(request.target_count)),
    ]
    if event == "approval_needed":
        facts.append((_("Would issue"), _number(request.would_issue)))
    if event == "cancelled" and request.cancelled_by:
        facts.append((_("Cancelled by"), request.cancelled_by.get_username()))
    if event == "revoked":
        facts.append((_("Revoked"), _number(request.revoked_count)))
    if event not in ("started", "approval_needed"):
        facts += [
            (_("Read / issued / skipped"), " / ".join(_number(n) for n in (
                request.read_count, request.issued_count, request.skipped_count))),
            (_("Elapsed"), _("%(seconds)s s") % {"seconds": number_format(request.elapsed_seconds, 1)}),
            (_("Rows per second"), _number(round(request.rows_per_second or 0))),
        ]
    return facts


def _number(value):
    return "–" if value is None else number_format(value, force_grouping=True)


def _admin_link(request):
    path = reverse("admin:distribution_distributionrequest_change", args=[request.pk])
    return settings.SITE_URL.rstrip("/") + path
