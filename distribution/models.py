from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import ExpressionWrapper, F, Q, Sum, Value
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from common.formats import moment

from . import lifecycle
from .actors import Kind
from .holdout import check_holdout_change, new_salt


class CouponQuerySet(models.QuerySet):
    def with_issued(self):
        """Each coupon with `issued` (all its requests' issued counts) in the same query."""
        return self.annotate(issued=Coalesce(Sum("distributions__issued_count"), 0))

    def issuable(self, now=None):
        """Coupons a new request may issue now: active, not expired, budget not spent (the rules of
        Coupon.check_issuable and check_budget, as a filter for choosing one)."""
        not_expired = Q(issue_until__isnull=True) | Q(issue_until__gt=now or timezone.now())
        budget_left = Q(budget__isnull=True) | Q(budget__gt=F("issued"))
        return self.with_issued().filter(not_expired, budget_left, is_active=True)


# A hundred years: any longer and an expiry date would leave the calendar (and Python's dates).
MAX_VALID_DAYS = 36_500


class Coupon(models.Model):
    class DiscountKind(models.TextChoices):
        PERCENT = "percent", _("Percent off")
        AMOUNT = "amount", _("Fixed amount off")

    name = models.CharField(_("name"), max_length=200)
    # The Coupon API names a coupon by its code in its addresses (/coupons/{code}/issue): no slash, no spaces.
    code = models.CharField(
        _("code"),
        max_length=64,
        unique=True,
        validators=[
            RegexValidator(
                r"^[^\s/]+\Z",
                _("A code cannot contain spaces or slashes: the Coupon API names coupons by code in its addresses."),
            )
        ],
    )
    discount_kind = models.CharField(_("discount kind"), max_length=16, choices=DiscountKind.choices)
    discount_amount = models.DecimalField(
        _("discount amount"), max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    valid_days = models.PositiveIntegerField(
        _("valid for (days)"),
        help_text=_("How long an issued coupon can be used: 1 to 36,500 days."),
        validators=[MinValueValidator(1), MaxValueValidator(MAX_VALID_DAYS)],
    )
    is_active = models.BooleanField(_("active"), default=True)
    issue_until = models.DateTimeField(
        _("issuable until"),
        null=True,
        blank=True,
        help_text=_("Optional: after this moment the coupon is expired and no request may issue it."),
    )
    budget = models.PositiveBigIntegerField(
        _("budget"), null=True, blank=True, help_text=_("The most coupons ever to be issued; empty for no limit.")
    )
    holdout_percent = models.DecimalField(
        _("control group (%)"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("50"))],
        help_text=_(
            "Share of every audience held out to measure the campaign: those members never get the coupon. "
            "0 to 50; it cannot change once the coupon has been issued."
        ),
    )
    # Chooses the control group (distribution/holdout.py); drawn once, never shown or changed.
    holdout_salt = models.PositiveIntegerField(_("control group salt"), default=new_salt, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = CouponQuerySet.as_manager()

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-created_at"]
        constraints = [
            # WELCOME10 and welcome10 are one code to a person, a support look-up and the API alike.
            models.UniqueConstraint(
                Lower("code"),
                name="coupon_code_unique_ignoring_case",
                violation_error_message=_("A coupon with this code exists already (codes are compared ignoring case)."),
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    def clean(self):
        same_code = Coupon.objects.filter(code__iexact=self.code).exclude(pk=self.pk)
        if self.code and same_code.exists():
            raise ValidationError(
                {
                    "code": _("Coupon code “%(code)s” is taken by “%(other)s”: codes are compared ignoring case.")
                    % {"code": self.code, "other": same_code.first().code}
                }
            )
        if self.discount_kind == self.DiscountKind.PERCENT and self.discount_amount and self.discount_amount > 100:
            raise ValidationError({"discount_amount": _("A percent discount is at most 100.")})
        check_holdout_change(self)

    def is_expired(self, now=None):
        return self.issue_until is not None and (now or timezone.now()) >= self.issue_until

    def expiry_for(self, issued_at):
        return issued_at + timedelta(days=self.valid_days)

    def issued_so_far(self):
        """Coupons issued by all its requests and Coupon API calls, revoked ones included: a budget counts
        what was ever given. A re-issue counts again: it makes a revoked coupon usable once more, so it
        spends budget as a new coupon does."""
        by_requests = self.distributions.aggregate(total=models.Sum(F("issued_count") + F("reissued_count")))
        by_api = self.issue_calls.aggregate(total=models.Sum(F("issued_count") + F("reissued_count")))
        return (by_requests["total"] or 0) + (by_api["total"] or 0)

    def lock_for_issuing(self):
        """Inside a transaction, locks the coupon's row until commit: the writers of one coupon (Coupon API
        calls, a running distribution's chunks) look up its holders and write one after the other. Two
        that both found a member without the coupon would both write the row, and one would fail on the
        primary key; with a budget, they would also count it twice. NO KEY: inserting coupons elsewhere
        (their foreign-key check) does not wait for it."""
        Coupon.objects.select_for_update(no_key=True).only("pk").get(pk=self.pk)

    def budget_left(self):
        if self.budget is None:
            return None
        issued = getattr(self, "issued", None)  # annotated by CouponQuerySet.with_issued
        return max(0, self.budget - (issued if issued is not None else self.issued_so_far()))

    def check_issuable(self, now=None):
        """Raises ValidationError (on the coupon field) unless the coupon may be issued now."""
        if not self.is_active:
            raise ValidationError({"coupon": _("Coupon “%(code)s” is not active.") % {"code": self.code}})
        if self.is_expired(now):
            raise ValidationError(
                {
                    "coupon": _("Coupon “%(code)s” expired on %(date)s.")
                    % {"code": self.code, "date": moment(self.issue_until)}
                }
            )

    def check_budget(self, would_issue):
        """Raises ValidationError (on the coupon field) if `would_issue` more coupons exceed the budget left."""
        left = self.budget_left()
        if left is not None and would_issue > left:
            raise ValidationError(
                {
                    "coupon": _(
                        "Coupon “%(code)s” has %(left)s coupons left in its budget, and this request would issue %(count)s."
                    )
                    % {"code": self.code, "left": f"{left:,}", "count": f"{would_issue:,}"}
                }
            )


def acted_by(verbose_name):
    """A user who moved a request on (confirmed, approved, cancelled, revoked it); empty until someone did."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=verbose_name
    )


class DistributionRequestQuerySet(models.QuerySet):
    def next_in_line(self, now=None):
        """The request queued first whose scheduled start has come: first in, first out.

        In line means confirmed (and approved, where needed): a draft holds no place in the queue."""
        now = now or timezone.now()
        due = Q(not_before__isnull=True) | Q(not_before__lte=now)
        retry_due = Q(retry_at__isnull=True) | Q(retry_at__lte=now)  # a transient failure's wait is over
        queued = self.filter(due, retry_due, status=DistributionRequest.Status.QUEUED)
        return queued.order_by("queued_at", "pk").first()

    def stale(self, now, stale_after):
        """Running requests whose worker has stopped reporting: it died."""
        cutoff = now - timedelta(seconds=stale_after)
        return self.filter(status=DistributionRequest.Status.RUNNING, heartbeat_at__lt=cutoff)


class DistributionRequest(models.Model):
    Status = lifecycle.Status

    coupon = models.ForeignKey(Coupon, models.PROTECT, verbose_name=_("coupon"), related_name="distributions")
    source = models.CharField(_("source"), max_length=64)
    table = models.CharField(_("table"), max_length=500, help_text=_("catalog.schema.table"))
    column = models.CharField(_("user id column"), max_length=200)
    memo = models.TextField(_("memo"), help_text=_("Why: the campaign this audience is for."))
    not_before = models.DateTimeField(
        _("start at"),
        null=True,
        blank=True,
        help_text=_("Optional: the request waits in the queue until then (checked every minute)."),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, verbose_name=_("requested by")
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last progress at"), null=True, blank=True)
    target_count = models.BigIntegerField(_("targets"), null=True, blank=True)
    read_count = models.BigIntegerField(_("read"), default=0)
    issued_count = models.BigIntegerField(_("issued"), default=0)
    skipped_count = models.BigIntegerField(_("skipped (already held)"), default=0)
    reissued_count = models.BigIntegerField(
        _("re-issued"), default=0, help_text=_("Revoked, never used coupons given back to their members.")
    )
    held_out_count = models.BigIntegerField(
        _("held out"), default=0, help_text=_("Members of the coupon's control group: read, never issued.")
    )
    # The preview, taken when the draft was made: what the marketer saw before confirming.
    invalid_count = models.BigIntegerField(
        _("invalid ids"), default=0, help_text=_("Rows whose id is empty, zero or negative: never issued.")
    )
    duplicate_count = models.BigIntegerField(
        _("duplicate rows"), default=0, help_text=_("Rows repeating an id already counted: issued once.")
    )
    held_count = models.BigIntegerField(
        _("already holding"),
        null=True,
        blank=True,
        help_text=_("Members who held this coupon at preview time; empty if not counted in advance."),
    )
    preview_reissue_count = models.BigIntegerField(
        _("had it revoked"),
        null=True,
        blank=True,
        help_text=_(
            "Members whose coupon was revoked unused at preview time: "
            "they get it again. Empty if not counted in advance."
        ),
    )
    holdout_count = models.BigIntegerField(
        _("would be held out"),
        default=0,
        help_text=_("Members of the audience in the coupon's control group at preview time: never issued."),
    )
    audience_fingerprint = models.CharField(
        _("audience fingerprint"),
        max_length=64,
        blank=True,
        help_text=_(
            "A checksum of the distinct ids seen at preview: a run starts only if the table still holds "
            "exactly these members."
        ),
    )
    # The same checksum over every valid row, duplicates included: a run whose table still has these rows
    # starts after one cheap scan, without grouping the ids again (services/audience.py).
    audience_rows_fingerprint = models.CharField(
        _("audience rows fingerprint"), max_length=64, blank=True, editable=False
    )
    sample_ids = models.JSONField(_("sample ids"), default=list, blank=True)
    estimated_seconds = models.FloatField(_("estimated duration (s)"), null=True, blank=True)
    confirmed_by = acted_by(_("confirmed by"))
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    approved_by = acted_by(_("approved by"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    elapsed_seconds = models.FloatField(_("elapsed (s)"), default=0)
    rows_per_second = models.FloatField(_("rows/s"), null=True, blank=True)
    error_message = models.TextField(_("error"), blank=True)  # the failure in the site's language, as a fallback
    # The failure as a code and values (distribution/failures.py), rendered in each reader's language.
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    error_values = models.JSONField(_("error values"), default=dict, blank=True)
    retry_at = models.DateTimeField(
        _("retry at"), null=True, blank=True, help_text=_("After a transient failure: when the run resumes by itself.")
    )
    checkpoint = models.BigIntegerField(
        _("checkpoint"), null=True, blank=True, help_text=_("The last user id committed; a resume starts after it.")
    )
    attempts = models.PositiveIntegerField(_("runs"), default=0)
    cancelled_by = acted_by(_("cancelled by"))
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    rejected_by = acted_by(_("rejected by"))
    rejected_at = models.DateTimeField(_("rejected at"), null=True, blank=True)
    rejection_reason = models.TextField(_("reason for rejecting"), blank=True)
    revoked_by = acted_by(_("revoked by"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_count = models.BigIntegerField(_("revoked"), default=0)
    # The throttle (distribution/throttle.py): what slows the running request now (empty when nothing does),
    # the time its runs spent slowed or paused, and an operator's pause (the run keeps its claim meanwhile).
    throttle = models.JSONField(_("throttle"), default=dict, blank=True)
    throttled_seconds = models.FloatField(_("time throttled (s)"), default=0)
    paused_by = acted_by(_("paused by"))
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)

    objects = DistributionRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("distribution request")
        verbose_name_plural = _("distribution requests")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Exclusivity lives in the database, not in the broker: whatever delivers a task twice
            # or starts a second cluster, a second `running` row cannot be written.
            models.UniqueConstraint(fields=["status"], condition=Q(status="running"), name="one_running_distribution"),
        ]
        indexes = [models.Index(fields=["status", "queued_at"], name="distribution_queue_idx")]
        permissions = [
            ("approve_distributionrequest", _("Can approve another user's large distribution request")),
            ("cancel_distributionrequest", _("Can cancel a distribution request")),
            ("revoke_distributionrequest", _("Can revoke the coupons of a distribution request")),
        ]

    def __str__(self):
        return _("Request #%(pk)s: %(coupon)s → %(table)s") % {
            "pk": self.pk,
            "coupon": self.coupon.code,
            "table": self.table,
        }

    # What each status allows is the lifecycle's table (distribution/lifecycle.py); these name its parts.
    FINISHED = tuple(lifecycle.FINISHED)
    LIVE = tuple(lifecycle.LIVE)
    CANCELLABLE = tuple(lifecycle.sources(lifecycle.Move.CANCELLED))
    REVOCABLE = tuple(lifecycle.sources(lifecycle.Move.REVOKE_STARTED))
    PREVIEWABLE_AGAIN = tuple(lifecycle.sources(lifecycle.Move.PREVIEWED_AGAIN))

    @property
    def is_finished(self):
        return self.status in self.FINISHED

    @property
    def is_live(self):
        """Still changing by itself: pages showing it keep polling."""
        return self.status in self.LIVE

    @property
    def is_draft(self):
        return self.status == self.Status.DRAFT

    @property
    def awaits_approval(self):
        return self.status == self.Status.AWAITING_APPROVAL

    @property
    def may_be_previewed_again(self):
        return self.status in self.PREVIEWABLE_AGAIN

    def may(self, action, user) -> bool:
        """Whether `user` may make the lifecycle move `action` on this request now."""
        return lifecycle.may(distribution=self, action=action, user=user)

    def may_be_confirmed_by(self, user):
        """Only the requester confirms or discards a draft: they are the one who read its preview."""
        return self.requested_by_id == (user.pk if user is not None else None)

    def may_be_previewed_again_by(self, user):
        return self.may(lifecycle.Move.PREVIEWED_AGAIN, user)

    def may_be_approved_by(self, user):
        """Four eyes: an approver who is not the requester."""
        return self.may(lifecycle.Move.APPROVED, user)

    @property
    def would_issue(self):
        """Coupons the preview expects to issue: distinct valid ids less those already held (a member
        whose coupon was revoked unused does not hold it: it is issued again, and counted here), less
        the coupon's control group."""
        return max(0, (self.target_count or 0) - (self.held_count or 0) - self.holdout_count)

    def nothing_to_issue(self):
        """Why the preview would issue no coupon at all, in words; None when it would issue some."""
        if self.target_count is None or self.would_issue > 0:
            return None
        if not self.target_count:
            return _(
                "The table holds no valid member id (every id is empty, zero or negative), so nothing would be issued."
            )
        if self.holdout_count:
            return _(
                "Every member in the table is in the coupon's control group or already holds it, "
                "so nothing would be issued."
            )
        return _("Every member in the table already holds this coupon, so nothing would be issued.")

    def check_would_issue(self):
        """Raises ValidationError when confirming would issue nothing: a request that gives no coupon is a
        mistake to show, not a job to queue."""
        if (reason := self.nothing_to_issue()) is not None:
            raise ValidationError({"table": reason})

    @property
    def is_revocable(self):
        """Something to revoke: a finished request that gave coupons, issued or re-issued (never one that gave
        none)."""
        return lifecycle.status_allows(distribution=self, action=lifecycle.Move.REVOKE_STARTED)

    @property
    def is_rejected(self):
        return self.status == self.Status.REJECTED

    # A start time this far in the past is a typing mistake, not "now": it is refused.
    START_GRACE = timedelta(minutes=5)

    def check_start(self, now=None):
        """Raises ValidationError (on the start field) for a start time already past."""
        if self.not_before is not None and self.not_before < (now or timezone.now()) - self.START_GRACE:
            raise ValidationError(
                {
                    "not_before": _(
                        "The start time %(time)s has already passed. Leave it empty to start as soon as possible."
                    )
                    % {"time": moment(self.not_before)}
                }
            )

    def starts_later(self, now=None):
        """The scheduled start, while it is still ahead; None otherwise."""
        if self.not_before is not None and self.not_before > (now or timezone.now()):
            return self.not_before
        return None

    @property
    def error_text(self):
        """The run's failure in the active language (the stored sentence for runs from before codes)."""
        from .failures import failure_text  # failures reads the writers, which import this module

        return failure_text(self.error_code, self.error_values) or self.error_message

    def retries_later(self, now=None):
        """When a queued request resumes after a transient failure, while that is still ahead; else None."""
        if self.status == self.Status.QUEUED and self.retry_at and self.retry_at > (now or timezone.now()):
            return self.retry_at
        return None

    def coupons_issued(self):
        # Filtering on the coupon first lets the primary key (coupon, user_id) narrow the scan:
        # the bulk table has no index on request_id, on purpose.
        return IssuedCoupon.objects.filter(coupon_id=self.coupon_id, distribution_id=self.pk)

    @property
    def progress_percent(self):
        if not self.target_count:
            return 100 if self.status == self.Status.SUCCEEDED else 0
        return min(100, round(100 * self.read_count / self.target_count))

    def live_rate(self, now=None):
        """Rows read per second in the current run so far (an estimate while running)."""
        if not self.started_at or not self.read_count:
            return None
        seconds = ((now or timezone.now()) - self.started_at).total_seconds() + 0.001
        return self.read_count / seconds

    def record_chunk(self, *, read, written, last_id, elapsed, landed=False, held_out=0):
        """Adds a chunk to the counts inside the chunk's transaction; 0 if this run lost its claim, or if
        the chunk would take the members read past the confirmed count (`exceeds_audience` tells which).

        `landed`: the chunk was written where no rollback reaches (a remote service), so it is counted
        even when the request was cancelled meanwhile. The elapsed time and rate are kept current too,
        so a request cancelled mid-run shows how long it ran."""
        statuses = [self.Status.RUNNING, self.Status.CANCELLED] if landed else [self.Status.RUNNING]
        mine = DistributionRequest.objects.filter(pk=self.pk, status__in=statuses, attempts=self.attempts)
        if self.target_count is not None:
            mine = mine.filter(read_count__lte=self.target_count - read)
        return mine.update(
            read_count=F("read_count") + read,
            issued_count=F("issued_count") + written.issued,
            reissued_count=F("reissued_count") + written.reissued,
            held_out_count=F("held_out_count") + held_out,
            skipped_count=F("skipped_count") + read - written.issued - written.reissued - held_out,
            checkpoint=last_id,
            # The time of this record, never the chunk's start: a chunk longer than the lease would write back
            # a moment its own lease thread had already renewed past, and the run be taken over while alive.
            heartbeat_at=timezone.now(),
            elapsed_seconds=elapsed,
            rows_per_second=ExpressionWrapper(
                (F("read_count") + read) / Value(max(elapsed, 0.001)), output_field=models.FloatField()
            ),
        )

    def exceeds_audience(self, *, read):
        """True when this run still holds its claim and `read` more members would pass the confirmed count."""
        return self.target_count is not None and self._mine().filter(read_count__gt=self.target_count - read).exists()

    def _mine(self):
        """This request while this run holds it: running, in this run's attempt (the fence)."""
        return DistributionRequest.objects.filter(pk=self.pk, status=self.Status.RUNNING, attempts=self.attempts)


# A member id is a positive bigint, as in the warehouse audiences and the API.
MEMBER_ID_MAX = 2**63 - 1


class IssuedCoupon(models.Model):
    """The bulk table: one row per coupon handed to a member.

    Its only index is the primary key. Every further index (the foreign keys' included) slows each
    bulk insert, and the deleted flag must never be indexed: an index on it is rewritten by every
    revoke and slows every insert, the lesson of the system this one replaces.
    Rows are never hard-deleted; revoking sets `deleted_at`.

    Where a coupon came from: `distribution` (the request that issued it) or, for one issued through
    the Coupon API, `issue_call` (the call: which client, which idempotency key, when). When it is
    used through the API, `used_at`, `order_id` (the order that redeemed it) and `redeemed_by` (the
    client) say so: the row is the record of a redeem. Like the other references, `issue_call` and
    `redeemed_by` have neither an index nor a database constraint, and the nullable columns cost
    COPY nothing (docs/benchmarks.md).
    """

    pk = models.CompositePrimaryKey("coupon", "user_id")
    # No database constraint: PostgreSQL checks a foreign key with a trigger per inserted row,
    # which costs COPY more than the insert itself. The writers only ever write the request's
    # own coupon and request ids, and both parents are PROTECTed and never deleted.
    coupon = models.ForeignKey(Coupon, models.DO_NOTHING, db_index=False, db_constraint=False)
    user_id = models.BigIntegerField(_("user id"))
    # The column keeps its first name: renaming a column of the bulk table is not worth a migration.
    distribution = models.ForeignKey(
        DistributionRequest,
        models.DO_NOTHING,
        db_index=False,
        db_constraint=False,
        db_column="request_id",
        null=True,
        blank=True,
    )
    issue_call = models.ForeignKey(
        "api.IssueCall", models.DO_NOTHING, db_index=False, db_constraint=False, null=True, blank=True, related_name="+"
    )
    issued_at = models.DateTimeField(_("issued at"))
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    order_id = models.CharField(_("order id"), max_length=100, null=True, blank=True)
    redeemed_by = models.ForeignKey(
        "api.ApiClient",
        models.DO_NOTHING,
        db_index=False,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("redeemed by"),
    )

    class Meta:
        verbose_name = _("issued coupon")
        verbose_name_plural = _("issued coupons")

    class State(models.TextChoices):
        USABLE = "usable", _("Usable")
        USED = "used", _("Used")
        REVOKED = "revoked", _("Revoked")
        EXPIRED = "expired", _("Expired")

    def __str__(self):
        return f"{self.coupon_id}:{self.user_id}"

    def state(self, now=None):
        """What the member can do with it: revoked and used win over expired (they say more)."""
        if self.deleted_at is not None:
            return self.State.REVOKED
        if self.used_at is not None:
            return self.State.USED
        if self.expires_at <= (now or timezone.now()):
            return self.State.EXPIRED
        return self.State.USABLE


class Transition(models.Model):
    """One change of a request's state: what happened, who or what caused it, when, and the counts then.

    The one audit path: every service that changes a request's status writes one, whoever acted (a
    user, the worker, the watchdog, the command line). What happened is stored as an action and
    values, never as a sentence, so each reader sees it in their own language.
    """

    Action = lifecycle.Move

    ActorKind = Kind

    # None only for support's change of a coupon that a Coupon API call issued: no request to belong to.
    distribution = models.ForeignKey(
        DistributionRequest,
        models.PROTECT,
        related_name="transitions",
        null=True,
        blank=True,
        verbose_name=_("distribution request"),
    )
    action = models.CharField(_("what happened"), max_length=32, choices=Action.choices)
    status = models.CharField(_("status after"), max_length=20, choices=DistributionRequest.Status.choices, blank=True)
    actor_kind = models.CharField(_("by"), max_length=16, choices=ActorKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("user")
    )
    actor_name = models.CharField(
        _("by (name)"),
        max_length=150,
        blank=True,
        help_text=_("The user name, or the operating-system user of the command line."),
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    counts = models.JSONField(_("counts"), default=dict)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("transition")
        verbose_name_plural = _("transitions")
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"#{self.distribution_id} {self.action}"

    # The counts at the time, as attributes (the list, the export).
    read_count = property(lambda self: self.counts.get("read_count"))
    issued_count = property(lambda self: self.counts.get("issued_count"))
    reissued_count = property(lambda self: self.counts.get("reissued_count"))

    @property
    def details_text(self):
        """The details in words: a member's id when one member changed, the reason a person gave, or the error
        that stopped a run, or which run started."""
        details, parts = self.details, []
        if details.get("user_id"):
            parts.append(f"{_('Member id')} {details['user_id']}")
        if details.get("reason"):
            parts.append(f"{_('Reason')}: {details['reason']}")
        elif failure := self._failure_text() or details.get("error"):
            parts.append(failure)
        elif details.get("throttled_seconds"):  # the throttle's record of a run it held back (distribution/throttle.py)
            parts.append(_("%(seconds)s s slowed down or paused") % {"seconds": details["throttled_seconds"]})
        elif details.get("attempt"):
            parts.append(_("run %(n)s") % {"n": details["attempt"]})
        return " · ".join(str(part) for part in parts)

    @property
    def by_text(self):
        """Who made the move: the person, the command line, or "the system" (the worker and its watchdog are
        one thing to the people reading the history)."""
        if self.actor_kind == Kind.USER:
            return self.actor_name
        if self.actor_kind in (Kind.WORKER, Kind.WATCHDOG):
            return str(pgettext_lazy("actor", "the system"))
        label = self.get_actor_kind_display()  # the command line, a schedule: with the name it ran under
        return f"{label} ({self.actor_name})" if self.actor_name else str(label)

    def _failure_text(self):
        from .failures import failure_text  # failures reads the writers, which import this module

        return failure_text(self.details.get("code", ""), self.details.get("values", {}))


class HeldOutMember(models.Model):
    """One member held out of one request: the coupon's control group as it was met, for analysts.

    A plain table (distribution_heldoutmember) an ETL can sync: request, coupon, member, when. Like the
    bulk table its only index is the primary key (request, member), written in key order by COPY in the
    chunk's transaction; references have no database constraint. `converted_at` is set by an import of
    conversions from the warehouse (distribution/holdout.py): the control group's counterpart of a used
    coupon. The same member held out by two requests of the coupon has a row in each.
    """

    pk = models.CompositePrimaryKey("distribution", "user_id")
    distribution = models.ForeignKey(
        DistributionRequest,
        models.DO_NOTHING,
        db_index=False,
        db_constraint=False,
        db_column="request_id",
        verbose_name=_("distribution request"),
    )
    user_id = models.BigIntegerField(_("user id"))
    coupon = models.ForeignKey(Coupon, models.DO_NOTHING, db_index=False, db_constraint=False, verbose_name=_("coupon"))
    held_out_at = models.DateTimeField(_("held out at"))
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("held-out member")
        verbose_name_plural = _("held-out members")

    def __str__(self):
        return f"#{self.distribution_id}:{self.user_id}"
