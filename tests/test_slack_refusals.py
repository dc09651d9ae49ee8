"""Slack answers that will never succeed fail the message at once, with the reason; the rest are retried.

A revoked token, a deleted webhook, a missing or archived channel: retrying for an hour only hides
the problem. The message is marked failed on its first attempt, the admin shows why, and "Send
again" delivers it once the configuration is fixed.
"""

import pytest
from django.urls import reverse

from distribution import services as distribution_services
from distribution.models import DistributionRequest
from notifications import services
from notifications.models import Notification
from tests.helpers import by

CHAT_REFUSALS = [
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "missing_scope",
]
WEBHOOK_REFUSALS = [
    "invalid_token",
    "no_service",
    "channel_not_found",
    "channel_is_archived",
    "action_prohibited",
    "invalid_payload",
]


@pytest.fixture
def announce(db, coupon, staff_user, django_capture_on_commit_callbacks):
    """Cancels a queued distribution: its one message ("cancelled") waits in the outbox, for the Slack set now."""

    def cancelled_request():
        with django_capture_on_commit_callbacks(execute=True):
            distribution = DistributionRequest.objects.create(
                coupon=coupon,
                source="demo",
                table="t",
                column="c",
                memo="m",
                requested_by=staff_user,
                status=DistributionRequest.Status.QUEUED,
            )
            distribution_services.distribution_cancel(distribution=distribution, actor=by(staff_user))
        return distribution

    return cancelled_request


def only_message(distribution):
    return distribution.notifications.get()


@pytest.mark.parametrize("error", CHAT_REFUSALS)
def test_a_chat_refusal_fails_the_message_at_once_with_the_reason(slack_bot, announce, error):
    slack_bot.then(error)
    distribution = announce()
    services.notification_deliver_due()
    message = only_message(distribution)
    assert (message.status, message.attempts, message.next_attempt_at) == ("failed", 1, None)
    assert message.last_error.startswith(f"HTTP 200: {error} — ") and "Send again" in message.last_error
    assert len(slack_bot.received) == 1, "not retried, not even by slack-sdk"


@pytest.mark.parametrize("error", WEBHOOK_REFUSALS)
def test_a_webhook_refusal_fails_the_message_at_once_with_the_reason(slack_webhook, announce, error):
    slack_webhook.then(error)
    distribution = announce()
    services.notification_deliver_due()
    message = only_message(distribution)
    assert (message.status, message.attempts) == ("failed", 1)
    assert error in message.last_error and "Send again" in message.last_error
    assert len(slack_webhook.received) == 1


@pytest.mark.parametrize("answers", [["rate_limited"] * 3, ["server_error"] * 3, ["fatal_error"]])
def test_rate_limits_and_server_errors_are_still_retried_later(slack_bot, announce, answers):
    slack_bot.then(*answers)
    distribution = announce()
    services.notification_deliver_due()
    message = only_message(distribution)
    assert (message.status, message.attempts) == ("pending", 1) and message.next_attempt_at is not None


def test_a_refused_connection_is_still_retried_later(announce, settings):
    settings.SLACK_WEBHOOK_URL, settings.SLACK_TIMEOUT = "http://127.0.0.1:9/services/T/B/X", 2
    distribution = announce()
    services.notification_deliver_due()
    message = only_message(distribution)
    assert (message.status, message.attempts) == ("pending", 1)


def test_the_reason_is_in_the_sites_language(slack_bot, announce, settings):
    settings.LANGUAGE_CODE = "ko"
    slack_bot.then("channel_not_found")
    distribution = announce()
    services.notification_deliver_due()
    assert "다시 보내기" in only_message(distribution).last_error


def test_send_again_delivers_a_refused_message_once_the_webhook_is_fixed(
    fake_slack, settings, announce, client, staff_user
):
    deleted = f"{fake_slack.base_url}/services/T000/B000/DELETED"
    fake_slack.refuse("/services/T000/B000/DELETED", "no_service")
    settings.SLACK_WEBHOOK_URL, settings.SLACK_TIMEOUT = deleted, 2
    distribution = announce()
    services.notification_deliver_due()
    message = only_message(distribution)
    assert message.status == "failed" and "no_service" in message.last_error

    client.force_login(staff_user)
    page = client.get(reverse("admin:notifications_notification_changelist"), {"status__exact": "failed"})
    assert "HTTP 404: no_service" in page.content.decode()

    settings.SLACK_WEBHOOK_URL = fake_slack.webhook_url  # the administrator fixes the configuration
    resend(client, message)
    services.notification_deliver_due()
    message.refresh_from_db()
    assert (message.status, message.last_error) == ("sent", "")
    assert [r["path"] for r in fake_slack.received] == ["/services/T000/B000/DELETED", "/services/T000/B000/XXXX"]


def test_send_again_uses_the_slack_configured_now(slack_bot, announce, client, staff_user, settings):
    slack_bot.refuse("xoxb-test", "token_revoked")
    distribution = announce()
    services.notification_deliver_due()
    assert only_message(distribution).status == "failed"
    # The bot token is replaced by an incoming webhook: the message goes out through the webhook.
    settings.SLACK_WEBHOOK_URL = slack_bot.webhook_url
    client.force_login(staff_user)
    resend(client, only_message(distribution))
    services.notification_deliver_due()
    message = only_message(distribution)
    assert (message.status, message.destination) == ("sent", "webhook")


def resend(client, message):
    response = client.post(
        reverse("admin:notifications_notification_changelist"), {"action": "resend", "_selected_action": [message.pk]}
    )
    assert response.status_code == 302
    assert Notification.objects.get(pk=message.pk).status == "pending"


def test_send_again_without_any_slack_configured_says_so(slack_bot, announce, client, staff_user, settings):
    slack_bot.then("invalid_auth")
    distribution = announce()
    services.notification_deliver_due()
    settings.SLACK_BOT_TOKEN = ""
    client.force_login(staff_user)
    page = client.post(
        reverse("admin:notifications_notification_changelist"),
        {"action": "resend", "_selected_action": [only_message(distribution).pk]},
        follow=True,
    )
    assert "No Slack is configured" in page.content.decode()
    assert only_message(distribution).status == "failed"
