from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LanguagePreference(models.Model):
    """The language a person chose in the header: theirs on every browser they log in from."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.CASCADE, primary_key=True, related_name="language_preference"
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)

    class Meta:
        verbose_name = _("language preference")
        verbose_name_plural = _("language preferences")

    def __str__(self):
        return f"{self.user} · {self.language}"


class WorkerHeartbeat(models.Model):
    """The last time a worker cluster (by its name, on one host) said it was alive.

    Written every few seconds by the cluster's supervising process (distribution/cluster.py), which
    keeps beating while its worker is busy with a long distribution or idle with nothing to do: a
    fresh beat means the cluster is up and will take the next task. django-q2's own Stat lives in
    the Django cache, which is per process here (no shared cache), so it cannot be read from outside.
    """

    cluster = models.CharField(_("cluster"), max_length=100)
    host = models.CharField(_("host"), max_length=255)
    pid = models.PositiveIntegerField(_("process id"))
    started_at = models.DateTimeField(_("started at"))
    beat_at = models.DateTimeField(_("last heartbeat"))

    class Meta:
        # Its table keeps the name it had when couponops/ held the model (migration common 0002).
        db_table = "couponops_workerheartbeat"
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")
        constraints = [models.UniqueConstraint(fields=["cluster", "host"], name="one_heartbeat_per_cluster_host")]

    def __str__(self):
        return f"{self.cluster}@{self.host}"
