import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from distribution.models import Coupon

KEY_PREFIX = "cpo"


def key_hash(key: str) -> str:
    """SHA-256 of the whole key. A key carries 256 random bits, so a slow password hash would add
    nothing against guessing and cost every request milliseconds; what matters is that the database
    never holds a usable key."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiClient(models.Model):
    """Another service calling the Coupon API (a storefront, a CRM, another couponops), with its key.

    The key is `cpo_<prefix>_<secret>`: the prefix finds the client (and is shown, so people can tell
    keys apart), the hash of the whole key proves it. The key itself is shown once, when made."""

    class Scope(models.TextChoices):
        ISSUE = "issue", _("Issue coupons")
        READ = "read", _("Read members' coupons")
        REDEEM = "redeem", _("Redeem and release coupons")

    name = models.CharField(_("name"), max_length=100, unique=True)
    scopes = models.JSONField(_("scopes"), default=list)
    key_prefix = models.CharField(_("key prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
        editable=False,
    )

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @staticmethod
    def new_key() -> tuple[str, str]:
        """(prefix, key): 8 hex characters to find the client by, 43 characters of secret."""
        prefix = secrets.token_hex(4)
        return prefix, f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"

    @staticmethod
    def prefix_of(key: str) -> str | None:
        parts = key.split("_", 2)
        # Only what new_key can have made reaches the database (a NUL, say, would make PostgreSQL refuse the query).
        well_formed = len(parts) == 3 and parts[0] == KEY_PREFIX and parts[1].isascii() and parts[1].isalnum()
        return parts[1] if well_formed else None

    @property
    def key_display(self):
        return f"{KEY_PREFIX}_{self.key_prefix}_…"

    def may(self, scope: str) -> bool:
        return scope in self.scopes

    def scope_labels(self):
        return ", ".join(str(self.Scope(scope).label) for scope in self.scopes if scope in self.Scope.values)


class IdempotencyKey(models.Model):
    """One `Idempotency-Key` of one client: claimed before an issue call runs, its answer stored after.

    The claim is the row's INSERT (the unique constraint refuses a second); `attempts` fences a
    call that took over a stale claim from a call that died, as `DistributionRequest.attempts` does."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")

    client = models.ForeignKey(ApiClient, models.CASCADE, related_name="+", verbose_name=_("API client"))
    key = models.CharField(_("idempotency key"), max_length=255)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    response_status = models.PositiveSmallIntegerField(_("answer status"), null=True, blank=True)
    response_body = models.JSONField(_("answer"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["client", "key"], name="one_idempotency_key_per_client")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_age_idx")]

    def __str__(self):
        return self.key


class IssueCall(models.Model):
    """One issue call of the Coupon API that issued: who, which coupon, which key, what came of it.

    Coupons it issued point back at it (`IssuedCoupon.issue_call`), and its counts go into the
    coupon's budget (`Coupon.issued_so_far`), as a distribution request's do."""

    client = models.ForeignKey(ApiClient, models.PROTECT, related_name="issue_calls", verbose_name=_("API client"))
    coupon = models.ForeignKey(Coupon, models.PROTECT, related_name="issue_calls", verbose_name=_("coupon"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=255)
    issued_count = models.PositiveIntegerField(_("issued"), default=0)
    reissued_count = models.PositiveIntegerField(_("reissued"), default=0)
    already_held_count = models.PositiveIntegerField(_("already held"), default=0)
    invalid_count = models.PositiveIntegerField(_("invalid ids"), default=0)
    held_out_count = models.PositiveIntegerField(_("held out"), default=0)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("API issue call")
        verbose_name_plural = _("API issue calls")
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.client} → {self.coupon.code} ({self.idempotency_key})"
