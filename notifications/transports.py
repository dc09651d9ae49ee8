"""Slack transports. Each sends one payload or raises DeliveryError with the reason."""

from django.conf import settings
from django.utils.translation import gettext as _
from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

# Answers no retry can change: Slack refuses the token, the channel or the message itself until
# someone fixes the configuration (chat.postMessage's documented errors; incoming webhooks answer
# 400 invalid_payload, 403 invalid_token/action_prohibited, 404 no_service/channel_not_found,
# 410 channel_is_archived). Retrying them for an hour only hides the problem. Everything else —
# 429, 5xx, fatal_error, timeouts, refused connections — may pass on a later attempt.
CHANNEL_ERRORS = {"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived"}
PERMANENT_API_ERRORS = CHANNEL_ERRORS | {
    "not_authed",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "no_permission",
    "missing_scope",
    "not_allowed_token_type",
    "access_denied",
    "ekm_access_denied",
    "team_access_not_granted",
    "restricted_action",
    "restricted_action_read_only_channel",
    "restricted_action_thread_only_channel",
    "as_user_not_supported",
    "invalid_arguments",
    "invalid_arg_name",
    "invalid_blocks",
    "invalid_blocks_format",
    "msg_too_long",
    "no_text",
    "too_many_attachments",
    "invalid_charset",
    "invalid_form_data",
    "invalid_post_type",
    "missing_post_type",
}
PERMANENT_WEBHOOK_STATUSES = {400, 401, 403, 404, 410}


class DeliveryError(Exception):
    """This attempt failed; a later one may succeed."""

    permanent = False


class PermanentDeliveryError(DeliveryError):
    """Slack will refuse this message until the configuration is fixed: it is not retried."""

    permanent = True

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code

    @property
    def hint(self):
        """What the administrator does about it, in the active language."""
        if self.code in CHANNEL_ERRORS:
            return _(
                "Slack cannot post to this channel: check SLACK_CHANNEL or the webhook's channel (invite "
                "the app, unarchive the channel), then use “Send again”."
            )
        return _(
            "Slack refuses this with the current settings: fix SLACK_WEBHOOK_URL, or SLACK_BOT_TOKEN and "
            "its permissions, then use “Send again”."
        )


def retry_handlers():
    # slack-sdk retries only connection errors by default; 429 (honouring Retry-After) and 5xx
    # are retried here too, a few times, before the outbox's own backoff takes over.
    return [
        ConnectionErrorRetryHandler(max_retry_count=1),
        RateLimitErrorRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=2),
    ]


class WebhookTransport:
    name = "webhook"

    def send(self, payload):
        client = WebhookClient(
            settings.SLACK_WEBHOOK_URL, timeout=settings.SLACK_TIMEOUT, retry_handlers=retry_handlers()
        )
        try:
            response = client.send_dict(payload)
        except OSError as exc:  # timeouts and refused connections, after the retries
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        # WebhookClient does not raise on an error status: the status and body say it.
        if response.status_code in PERMANENT_WEBHOOK_STATUSES:
            raise PermanentDeliveryError(f"HTTP {response.status_code}: {response.body[:500]}", response.body.strip())
        if response.status_code != 200 or response.body != "ok":
            raise DeliveryError(f"HTTP {response.status_code}: {response.body[:500]}")


class ChatTransport:
    name = "chat"

    def send(self, payload):
        client = WebClient(
            token=settings.SLACK_BOT_TOKEN,
            base_url=settings.SLACK_API_URL,
            timeout=settings.SLACK_TIMEOUT,
            retry_handlers=retry_handlers(),
        )
        try:
            client.chat_postMessage(channel=settings.SLACK_CHANNEL, text=payload["text"], blocks=payload["blocks"])
        except SlackApiError as exc:
            code = exc.response.get("error")
            reason = f"HTTP {exc.response.status_code}: {code}"
            if code in PERMANENT_API_ERRORS:
                raise PermanentDeliveryError(reason, code) from exc
            raise DeliveryError(reason) from exc
        except OSError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


def configured_destination():
    """webhook, chat or none, from the settings; a webhook wins when both are set."""
    if settings.SLACK_WEBHOOK_URL:
        return "webhook"
    if settings.SLACK_BOT_TOKEN and settings.SLACK_CHANNEL:
        return "chat"
    return "none"


TRANSPORTS = {"webhook": WebhookTransport, "chat": ChatTransport}
