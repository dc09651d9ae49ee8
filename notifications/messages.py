"""Renders a distribution event as a Slack message: Block Kit with a plain-text fallback."""

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from common.formats import DASH, moment, number
from distribution.signals import Event

TITLES = {
    Event.APPROVAL_NEEDED: ("🙋", gettext_noop("Coupon distribution #%(pk)s needs approval")),
    Event.STARTED: ("🚀", gettext_noop("Coupon distribution #%(pk)s started")),
    Event.SUCCEEDED: ("✅", gettext_noop("Coupon distribution #%(pk)s succeeded")),
    Event.FAILED: ("❌", gettext_noop("Coupon distribution #%(pk)s failed")),
    Event.RETRYING: ("🔁", gettext_noop("Coupon distribution #%(pk)s failed; it retries by itself")),
    Event.CANCELLED: ("🛑", gettext_noop("Coupon distribution #%(pk)s cancelled")),
    Event.REJECTED: ("🙅", gettext_noop("Coupon distribution #%(pk)s rejected")),
    Event.REVOKED: ("↩️", gettext_noop("Coupons of distribution #%(pk)s revoked")),
    Event.AUDIENCE_CHANGED: ("⚠️", gettext_noop("Coupon distribution #%(pk)s stopped: its audience changed")),
}
assert set(TITLES) == set(Event), "every event has a Slack title"


def render(event, distribution):
    """The payload for one event, in the site's language."""
    with translation.override(settings.LANGUAGE_CODE):
        title, facts, link = _title(event, distribution), _facts(event, distribution), _admin_link(distribution)
        error_label, open_label = _("Error"), _("Open the request in the admin")
        errors = [distribution.error_text] if event in (Event.FAILED, Event.RETRYING, Event.AUDIENCE_CHANGED) else []
        notes = _notes(event, distribution)
        text = "\n".join(
            [
                title,
                *notes,
                *(f"{label}: {value}" for label, value in facts),
                *(f"{error_label}: {error}" for error in errors),
                link,
            ]
        )
        blocks = [
            {"type": "header", "text": {"type": "plain_text", "text": title}},
            *({"type": "section", "text": {"type": "mrkdwn", "text": note}} for note in notes),
            {
                "type": "section",
                "fields": [{"type": "mrkdwn", "text": f"*{label}*\n{value}"} for label, value in facts[:10]],
            },
            *(
                {"type": "section", "text": {"type": "mrkdwn", "text": f"*{error_label}*\n```{error[:2500]}```"}}
                for error in errors
            ),
            {"type": "section", "text": {"type": "mrkdwn", "text": f"<{link}|{open_label}>"}},
        ]
    return {"text": text, "blocks": blocks}


def _title(event, distribution):
    emoji, title = TITLES[event]
    return f"{emoji} " + _(title) % {"pk": distribution.pk}


def _notes(event, distribution):
    """A cancel by someone other than the requester tells the requester, by name, who did it."""
    cancelled_by, requested_by = distribution.cancelled_by, distribution.requested_by
    if event != Event.CANCELLED or cancelled_by is None or requested_by in (None, cancelled_by):
        return []
    return [
        _("%(requester)s, your request was cancelled by %(canceller)s.")
        % {"requester": _mention(requested_by), "canceller": cancelled_by.get_username()}
    ]


def _mention(user):
    """A Slack mention when the user's Slack member id is known (SLACK_USER_IDS), else the username."""
    slack_id = settings.SLACK_USER_IDS.get(user.get_username())
    return f"<@{slack_id}>" if slack_id else user.get_username()


def _facts(event, distribution):
    facts = [
        (_("Coupon"), f"{distribution.coupon.name} ({distribution.coupon.code})"),
        (
            _("Requested by"),
            distribution.requested_by.get_username() if distribution.requested_by else _("command line"),
        ),
        (_("Memo"), distribution.memo or DASH),
        (_("Source table"), f"{distribution.source}: {distribution.table}.{distribution.column}"),
        (_("Targets"), number(distribution.target_count)),
    ]
    if event == Event.APPROVAL_NEEDED:
        facts.append((_("Would issue"), number(distribution.would_issue)))
    if event == Event.CANCELLED and distribution.cancelled_by:
        facts.append((_("Cancelled by"), distribution.cancelled_by.get_username()))
    if event == Event.REJECTED and distribution.rejected_by:
        facts.append((_("Rejected by"), distribution.rejected_by.get_username()))
        facts.append((_("Reason"), distribution.rejection_reason or DASH))
    if event == Event.REVOKED:
        facts.append((_("Revoked"), number(distribution.revoked_count)))
    if event == Event.RETRYING and distribution.retry_at:
        facts.append((_("Retrying at"), moment(distribution.retry_at)))
    if event == Event.APPROVAL_NEEDED and distribution.starts_later():
        facts.append((_("Starts at"), moment(distribution.not_before)))
    if event not in (Event.STARTED, Event.APPROVAL_NEEDED, Event.REJECTED):
        facts.append(
            (
                _("Read / issued / skipped"),
                " / ".join(
                    number(n) for n in (distribution.read_count, distribution.issued_count, distribution.skipped_count)
                ),
            )
        )
    if event not in (Event.STARTED, Event.APPROVAL_NEEDED) and distribution.elapsed_seconds:
        # A request cancelled before it ran has no time to report: no "0.0 s, 0 per second".
        facts += [
            (
                _("Read / issued / re-issued / skipped"),
                " / ".join(
                    number(n)
                    for n in (
                        distribution.read_count,
                        distribution.issued_count,
                        distribution.reissued_count,
                        distribution.skipped_count,
                    )
                ),
            ),
            *held_out_fact(distribution),
            (_("Elapsed"), _("%(seconds)s s") % {"seconds": number_format(distribution.elapsed_seconds, 1)}),
            (_("Coupons per second"), number(round(distribution.rows_per_second or 0))),
        ]
    return facts


def _admin_link(distribution):
    path = reverse("admin:distribution_distributionrequest_change", args=[distribution.pk])
    return settings.SITE_URL.rstrip("/") + path


def held_out_fact(distribution):
    """The control group's line, for a coupon that keeps one: read, never issued."""
    if not distribution.held_out_count:
        return []
    return [(_("Held out (control group)"), number(distribution.held_out_count))]
