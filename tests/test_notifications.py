"""Distribution events become Slack messages through the outbox; Slack's failures never reach a distribution."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from distribution import services as distribution_services
from distribution.models import DistributionRequest
from notifications import services
from notifications.models import Notification
from tests.helpers import by

Status = Notification.Status


@pytest.fixture
def distribute(db, coupon, duckdb_source, django_capture_on_commit_callbacks, staff_user):
    """Runs a 50-member distribution in this process (one that fails, its table dropped after submitting,
    with `failing=True`); returns the finished distribution."""
    duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 51) t(i)")

    def run(failing=False):
        with django_capture_on_commit_callbacks(execute=True):
            distribution = distribution_services.distribution_submit(
                distribution=DistributionRequest(
                    coupon=coupon,
                    source="demo",
                    table="warehouse.main.members",
                    column="user_id",
                    memo="spring campaign",
                ),
                actor=by(staff_user),
            )
            if failing:
                duckdb_source("DROP TABLE members")
        with django_capture_on_commit_callbacks(execute=True):
            distribution_services.distribution_run_queue()
        distribution.refresh_from_db()
        return distribution

    return run


def events_of(distribution):
    return list(distribution.notifications.order_by("pk").values_list("event", "status", "attempts"))


def test_each_event_is_delivered_once_by_webhook_in_order(distribute, slack_webhook, settings):
    settings.SITE_URL = "https://couponops.example.com"
    distribution = distribute()
    assert events_of(distribution) == [("started", "pending", 0), ("succeeded", "pending", 0)]
    assert services.notification_deliver_due() == 2
    assert events_of(distribution) == [("started", "sent", 1), ("succeeded", "sent", 1)]
    started, succeeded = (r["body"] for r in slack_webhook.received)
    assert "started" in started["text"] and "succeeded" in succeeded["text"]
    for text in (
        "SPRING10",
        "marketer",
        "spring campaign",
        "warehouse.main.members.user_id",
        "50 / 50 / 0",
        f"https://couponops.example.com/admin/distribution/distributionrequest/{distribution.pk}/change/",
    ):
        assert text in succeeded["text"]
    assert succeeded["blocks"][0]["type"] == "header"
    assert services.notification_deliver_due() == 0  # nothing is sent twice


def test_chat_post_message_carries_token_channel_and_blocks(distribute, slack_bot):
    distribute()
    services.notification_deliver_due()
    first = slack_bot.received[0]
    assert first["path"] == "/api/chat.postMessage"
    assert first["headers"]["Authorization"] == "Bearer xoxb-test"
    assert first["body"]["channel"] == "#coupons" and first["body"]["blocks"]


def test_a_failed_distribution_message_carries_the_error(distribute, slack_webhook):
    distribution = distribute(failing=True)
    assert distribution.status == "failed"
    services.notification_deliver_due()
    failed = slack_webhook.received[-1]["body"]
    assert "failed" in failed["text"] and "does not exist" in failed["text"]


def test_a_failed_attempt_is_stored_and_the_later_message_waits(distribute, slack_bot):
    slack_bot.then("server_error", "server_error", "server_error")
    distribution = distribute()
    assert services.notification_deliver_due() == 0
    started, succeeded = distribution.notifications.order_by("pk")
    assert (started.status, started.attempts, succeeded.attempts) == ("pending", 1, 0)
    assert "fatal_error" in started.last_error and started.next_attempt_at > timezone.now()
    assert distribution.status == "succeeded"


def test_rate_limiting_is_retried_after_retry_after(distribute, slack_webhook):
    slack_webhook.then("rate_limited")
    distribute()
    services.notification_deliver_due()
    times = [r["at"] for r in slack_webhook.received]
    assert len(times) == 3 and times[1] - times[0] >= 1
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


def test_server_errors_are_retried_then_backed_off_then_given_up(distribute, slack_webhook, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    slack_webhook.then(*["server_error"] * 6)
    distribution = distribute()
    services.notification_deliver_due()
    started = distribution.notifications.order_by("pk").first()
    assert (started.status, started.attempts, started.last_error) == ("pending", 1, "HTTP 500: internal_error")
    assert len(slack_webhook.received) == 3  # one call and slack-sdk's two retries
    services.notification_deliver_due(now=timezone.now() + timedelta(hours=1))
    started.refresh_from_db()
    assert (started.status, started.attempts) == ("failed", 2)
    # once the started message is given up, the succeeded one goes out
    assert services.notification_deliver_due(now=timezone.now() + timedelta(hours=2)) == 1


def test_a_hanging_slack_times_out_and_is_recorded(distribute, slack_webhook):
    slack_webhook.then("hang", "hang")
    distribution = distribute()
    services.notification_deliver_due()
    started = distribution.notifications.order_by("pk").first()
    assert started.status == "pending" and "timed out" in started.last_error.lower()
    assert distribution.status == "succeeded"


def test_without_slack_notifications_are_recorded_as_skipped(distribute, fake_slack):
    distribution = distribute()
    assert events_of(distribution) == [("started", "skipped", 0), ("succeeded", "skipped", 0)]
    assert services.notification_deliver_due() == 0 and not fake_slack.received


def test_messages_are_korean_when_the_site_is(distribute, slack_webhook, settings):
    settings.LANGUAGE_CODE = "ko"
    distribute()
    services.notification_deliver_due()
    assert "성공" in slack_webhook.received[-1]["body"]["text"]


def test_resend_from_the_admin_sends_a_failed_message_again(
    distribute, slack_webhook, settings, client, staff_user, django_capture_on_commit_callbacks
):
    settings.NOTIFICATION_MAX_ATTEMPTS = 1
    slack_webhook.then(*["server_error"] * 3)
    distribution = distribute()
    services.notification_deliver_due()
    started = distribution.notifications.order_by("pk").first()
    assert started.status == "failed"
    client.force_login(staff_user)
    response = client.post(
        reverse("admin:notifications_notification_changelist"), {"action": "resend", "_selected_action": [started.pk]}
    )
    assert response.status_code == 302
    services.notification_deliver_due()
    assert set(distribution.notifications.values_list("status", flat=True)) == {"sent"}


def test_the_notification_admin_lists_and_filters(distribute, slack_webhook, client, staff_user):
    distribute()
    client.force_login(staff_user)
    changelist = reverse("admin:notifications_notification_changelist")
    pending = Notification.objects.filter(status="pending")
    assert pending.exists()
    page = client.get(changelist, {"status__exact": "pending"}).content.decode()
    for notification in pending:
        assert reverse("admin:notifications_notification_change", args=[notification.pk]) in page
    sent = client.get(changelist, {"status__exact": "sent"}).content.decode()
    assert not any(reverse("admin:notifications_notification_change", args=[n.pk]) in sent for n in pending)


def test_a_cancellation_is_announced_with_who_cancelled(
    db, coupon, duckdb_source, slack_webhook, staff_user, django_capture_on_commit_callbacks
):
    duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 51) t(i)")
    with django_capture_on_commit_callbacks(execute=True):
        distribution = distribution_services.distribution_submit(
            actor=by(),
            distribution=DistributionRequest(
                coupon=coupon, source="demo", table="warehouse.main.members", column="user_id", memo="m"
            ),
        )
    with django_capture_on_commit_callbacks(execute=True):
        distribution_services.distribution_cancel(distribution=distribution, actor=by(staff_user))
    services.notification_deliver_due()
    text = slack_webhook.received[-1]["body"]["text"]
    assert "cancelled" in text and "marketer" in text


def test_a_revocation_is_announced_with_the_number_revoked(
    distribute, slack_webhook, django_capture_on_commit_callbacks
):
    distribution = distribute()
    with django_capture_on_commit_callbacks(execute=True):
        distribution_services.distribution_revoke(actor=by(), distribution=distribution)
    with django_capture_on_commit_callbacks(execute=True):
        distribution_services.distribution_run_queue()  # the worker does the revoking
    services.notification_deliver_due()
    text = slack_webhook.received[-1]["body"]["text"]
    assert "revoked" in text and "Revoked: 50" in text


def test_a_request_awaiting_approval_asks_for_it_in_slack(
    db, coupon, duckdb_source, slack_webhook, staff_user, settings, django_capture_on_commit_callbacks
):
    settings.DISTRIBUTION_APPROVAL_COUPONS = 10
    duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 51) t(i)")
    with django_capture_on_commit_callbacks(execute=True):
        distribution = distribution_services.distribution_submit(
            distribution=DistributionRequest(
                coupon=coupon, source="demo", table="warehouse.main.members", column="user_id", memo="m"
            ),
            actor=by(staff_user),
        )
    services.notification_deliver_due()
    text = slack_webhook.received[-1]["body"]["text"]
    assert f"#{distribution.pk} needs approval" in text and "Would issue: 50" in text and "marketer" in text
