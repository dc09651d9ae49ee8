"""Slack transports. Each sends one payload or raises DeliveryError with the reason."""

from django.conf import settings
from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)


class DeliveryError(Exception):
    pass


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
        client = WebhookClient(settings.SLACK_WEBHOOK_URL, timeout=settings.SLACK_TIMEOUT,
                               retry_handlers=retry_handlers())
        try:
            response = client.send_dict(payload)
        except OSError as exc:  # timeouts and refused connections, after the retries
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        # WebhookClient does not raise on an error status: the status and body say it.
        if response.status_code != 200 or response.body != "ok":
            raise DeliveryError(f"HTTP {response.status_code}: {response.body[:500]}")


class ChatTransport:
    name = "chat"

    def send(self, payload):
        client = WebClient(token=settings.SLACK_BOT_TOKEN, base_url=settings.SLACK_API_URL,
                           timeout=settings.SLACK_TIMEOUT, retry_handlers=retry_handlers())
        try:
            client.chat_postMessage(channel=settings.SLACK_CHANNEL, text=payload["text"], blocks=payload["blocks"])
        except SlackApiError as exc:
            raise DeliveryError(f"HTTP {exc.response.status_code}: {exc.response.get('error')}") from exc
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
