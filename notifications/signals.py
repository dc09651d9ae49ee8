"""Receivers of the distribution events. For now they log; Slack delivery builds on these."""

import logging

from django.dispatch import receiver

from distribution.signals import distribution_failed, distribution_started, distribution_succeeded

logger = logging.getLogger(__name__)


@receiver(distribution_started, dispatch_uid="notifications.log_started")
def log_started(sender, request, **kwargs):
    logger.info("distribution request %s started", request.pk)


@receiver(distribution_succeeded, dispatch_uid="notifications.log_succeeded")
def log_succeeded(sender, request, **kwargs):
    logger.info("distribution request %s succeeded: %s issued, %s skipped in %.1fs",
                request.pk, request.issued_count, request.skipped_count, request.elapsed_seconds)


@receiver(distribution_failed, dispatch_uid="notifications.log_failed")
def log_failed(sender, request, **kwargs):
    logger.warning("distribution request %s failed: %s", request.pk, request.error_message)
