"""Every write of the notifications app: recording events in the outbox and delivering them."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django_q.tasks import async_task

from . import messages, transports
from .models import Notification

logger = logging.getLogger(__name__)
Status = Notification.Status
CLUSTER = "notifications"


def notification_record(*, event: str, distribution) -> Notification:
    """Writes the event's message to the outbox and wakes the notification worker."""
    destination = transports.configured_destination()
    notification = Notification.objects.create(
        event=event,
        distribution=distribution,
        destination=destination,
        payload=messages.render(event, distribution),
        status=Status.SKIPPED if destination == "none" else Status.PENDING,
        next_attempt_at=timezone.now(),
    )
    if destination == "none":
        logger.info("notification %s (%s #%s) skipped: no Slack configured", notification.pk, event, distribution.pk)
    else:
        transaction.on_commit(lambda: notification_kick(notification.pk))
    return notification


def notification_kick(notification_id=None):
    # Its own django-q2 cluster, so that a message never waits behind a running distribution.
    async_task(
        "notifications.tasks.deliver_outbox",
        notification_id,
        cluster=CLUSTER,
        task_name="notifications-outbox",
        group="notifications",
    )


def notification_resend(*, notification: Notification) -> bool:
    """Sends it again through the Slack configured now: the fix for a refused message is a new setting."""
    destination = transports.configured_destination()
    if destination == "none":
        return False
    updated = (
        Notification.objects.filter(pk=notification.pk)
        .exclude(destination="none")
        .update(
            status=Status.PENDING, destination=destination, attempts=0, next_attempt_at=timezone.now(), last_error=""
        )
    )
    if updated:
        transaction.on_commit(lambda: notification_kick(notification.pk))
    return bool(updated)


def notification_deliver_due(now=None) -> int:
    """Sends every due message, oldest first; a request's later message waits for its earlier one."""
    now = now or timezone.now()
    blocked, delivered = set(), 0
    for notification in Notification.objects.filter(status=Status.PENDING).order_by("pk"):
        if notification.distribution_id in blocked:
            continue
        if notification.next_attempt_at and notification.next_attempt_at > now:
            blocked.add(notification.distribution_id)  # keep each request's order: started first
            continue
        if not notification_deliver(notification=notification):
            blocked.add(notification.distribution_id)
            continue
        delivered += 1
    return delivered


def notification_deliver(*, notification: Notification) -> bool:
    """One attempt, claimed by a conditional update so that two workers never send it twice."""
    if not _claim(notification):
        return False
    try:
        transports.TRANSPORTS[notification.destination]().send(notification.payload)
    except transports.DeliveryError as exc:
        _record_failure(notification, exc)
        return False
    Notification.objects.filter(pk=notification.pk).update(status=Status.SENT, sent_at=timezone.now(), last_error="")
    return True


def _claim(notification):
    # Pushing next_attempt_at out first makes a concurrent drain skip this row while it is sent.
    lease = timezone.now() + timedelta(seconds=settings.SLACK_TIMEOUT * 10)
    claimed = Notification.objects.filter(
        pk=notification.pk, status=Status.PENDING, attempts=notification.attempts
    ).update(attempts=F("attempts") + 1, next_attempt_at=lease)
    notification.attempts += 1
    return bool(claimed)


def _record_failure(notification, exc):
    gave_up = exc.permanent or notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
    error = _reason(exc)
    delay = settings.NOTIFICATION_RETRY_BASE * 2 ** (notification.attempts - 1)
    Notification.objects.filter(pk=notification.pk).update(
        status=Status.FAILED if gave_up else Status.PENDING,
        last_error=error[:2000],
        next_attempt_at=None if gave_up else timezone.now() + timedelta(seconds=delay),
    )
    log = logger.error if gave_up else logger.warning
    log(
        "notification %s attempt %s failed%s: %s",
        notification.pk,
        notification.attempts,
        " (gave up)" if gave_up else "",
        error,
    )


def _reason(exc):
    if not exc.permanent:
        return str(exc)
    with translation.override(settings.LANGUAGE_CODE):  # like the messages themselves
        return f"{exc} — {exc.hint}"
