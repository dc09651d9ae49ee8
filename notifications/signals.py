"""Receivers of the distribution events: each event becomes one outbox row, sent asynchronously."""

from django.dispatch import receiver

from distribution.signals import (
    distribution_cancelled,
    distribution_failed,
    distribution_revoked,
    distribution_started,
    distribution_succeeded,
)

from .services import notification_record


@receiver(distribution_started, dispatch_uid="notifications.distribution_started")
def on_started(sender, request, **kwargs):
    notification_record(event="started", request=request)


@receiver(distribution_succeeded, dispatch_uid="notifications.distribution_succeeded")
def on_succeeded(sender, request, **kwargs):
    notification_record(event="succeeded", request=request)


@receiver(distribution_failed, dispatch_uid="notifications.distribution_failed")
def on_failed(sender, request, **kwargs):
    notification_record(event="failed", request=request)


@receiver(distribution_cancelled, dispatch_uid="notifications.distribution_cancelled")
def on_cancelled(sender, request, **kwargs):
    notification_record(event="cancelled", request=request)


@receiver(distribution_revoked, dispatch_uid="notifications.distribution_revoked")
def on_revoked(sender, request, **kwargs):
    notification_record(event="revoked", request=request)
