from django.db import models
from django.utils.translation import gettext_lazy as _

from distribution.models import DistributionRequest
from distribution.signals import event_choices


class Notification(models.Model):
    """One outgoing message: a row first, a request to Slack second (an outbox)."""

    class Destination(models.TextChoices):
        WEBHOOK = "webhook", _("Slack incoming webhook")
        CHAT = "chat", _("Slack chat.postMessage")
        NONE = "none", _("Not configured")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed (gave up)")
        SKIPPED = "skipped", _("Skipped (no Slack configured)")

    event = models.CharField(_("event"), max_length=20, choices=event_choices)
    distribution = models.ForeignKey(
        DistributionRequest,
        models.PROTECT,
        related_name="notifications",
        verbose_name=_("distribution request"),
        db_column="request_id",
    )
    destination = models.CharField(_("destination"), max_length=16, choices=Destination.choices)
    payload = models.JSONField(_("payload"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notification_due_idx")]

    def __str__(self):
        return f"{self.get_event_display()} · #{self.distribution_id}"
