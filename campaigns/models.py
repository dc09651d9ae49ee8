"""Recurring distributions: a schedule makes one ordinary distribution request per run.

The timing lives here (`Schedule.next_run_at`, claimed by conditional UPDATE), not in django-q2's own
schedules: django-q2 only calls one task every minute, which looks for schedules that are due. A time
missed while the worker was down is therefore run once when it is back, never once per missed day.

distribution/ never imports campaigns/: a run names its request (`ScheduleRun.distribution`), the
request does not name its schedule.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from distribution.models import Coupon, DistributionRequest
from distribution.selectors import ApprovalLimits

from . import timing


class ScheduleQuerySet(models.QuerySet):
    def due(self, now=None):
        """Schedules whose next run time has come (paused ones too: their run is recorded as skipped)."""
        return self.filter(next_run_at__lte=now or timezone.now()).order_by("next_run_at", "pk")

    def upcoming(self):
        """Active schedules by their next run time: what runs next."""
        return self.filter(is_paused=False, next_run_at__isnull=False).order_by("next_run_at", "pk")


class Schedule(models.Model):
    class Kind(models.TextChoices):
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")
        CRON = "cron", _("Cron expression")

    name = models.CharField(_("name"), max_length=200)
    coupon = models.ForeignKey(Coupon, models.PROTECT, verbose_name=_("coupon"), related_name="schedules")
    source = models.CharField(_("source"), max_length=64)
    table = models.CharField(_("table"), max_length=500, help_text=_("catalog.schema.table"))
    column = models.CharField(_("user id column"), max_length=200)
    memo = models.TextField(_("memo"), help_text=_("Why: the campaign this audience is for."))
    kind = models.CharField(_("repeats"), max_length=16, choices=Kind.choices, default=Kind.DAILY)
    at_time = models.TimeField(
        _("at"), null=True, blank=True, help_text=_("Daily and weekly: the time of day, in the site's time zone.")
    )
    weekdays = models.JSONField(
        _("on"), default=list, blank=True, help_text=_("Weekly: the days of the week (0 = Monday … 6 = Sunday).")
    )
    cron = models.CharField(
        _("cron expression"),
        max_length=100,
        blank=True,
        help_text=_("For engineers: minute hour day month weekday, in the site's time zone (e.g. 0 9 * * 1-5)."),
    )
    first_day = models.DateField(_("first day"), default=timezone.localdate)
    last_day = models.DateField(_("last day"), null=True, blank=True, help_text=_("Optional: empty runs for ever."))
    max_coupons = models.PositiveBigIntegerField(
        _("coupons per run without approval"),
        validators=[MinValueValidator(0)],
        help_text=_("A run that would issue more waits for a manager's approval."),
    )
    max_value = models.PositiveBigIntegerField(
        _("value per run without approval"),
        null=True,
        blank=True,
        help_text=_("Fixed-amount coupons: coupons × amount a run may issue without approval. Required for them."),
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("owner"))
    is_paused = models.BooleanField(_("paused"), default=False)
    next_run_at = models.DateTimeField(_("next run at"), null=True, blank=True)
    # What the last save's preview showed (PreviewSummary.as_dict): the page shows it without asking the
    # warehouse again.
    preview = models.JSONField(_("preview"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScheduleQuerySet.as_manager()

    class Meta:
        verbose_name = _("schedule")
        verbose_name_plural = _("schedules")
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["next_run_at"], name="schedule_due_idx")]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.kind in (self.Kind.DAILY, self.Kind.WEEKLY) and self.at_time is None:
            errors["at_time"] = _("Give the time of day the run starts.")
        if self.kind == self.Kind.WEEKLY and not self.weekdays:
            errors["weekdays"] = _("Choose at least one day of the week.")
        if self.kind == self.Kind.CRON and not timing.cron_is_valid(self.cron):
            errors["cron"] = _("Not a cron expression: five fields, minute hour day month weekday.")
        if self.last_day and self.first_day and self.last_day < self.first_day:
            errors["last_day"] = _("The last day cannot come before the first day.")
        if self._needs_value_limit():
            errors["max_value"] = _("A fixed-amount coupon needs a limit on the value a run may issue.")
        if errors:
            raise ValidationError(errors)

    def _needs_value_limit(self):
        return (
            self.max_value is None
            and self.coupon_id is not None
            and self.coupon.discount_kind == Coupon.DiscountKind.AMOUNT
        )

    @property
    def cron_expression(self):
        """The rule as a cron expression, whatever the kind."""
        return timing.cron_for(kind=self.kind, at_time=self.at_time, weekdays=self.weekdays, cron=self.cron)

    def runs_after(self, moment, count=1):
        """The next `count` run times after `moment`, within the first and last day, in the site's zone."""
        return timing.runs_after(self.cron_expression, moment, self.first_day, self.last_day, count)

    def next_after(self, moment):
        times = self.runs_after(moment)
        return times[0] if times else None

    @property
    def next_run_in_words(self):
        return timing.moment_in_words(self.next_run_at) if self.next_run_at else "–"

    @property
    def limits(self):
        """Its runs' approval limits, instead of the site's."""
        return ApprovalLimits(self.max_coupons, self.max_value)

    @property
    def rule_in_words(self):
        return timing.rule_in_words(kind=self.kind, at_time=self.at_time, weekdays=self.weekdays, cron=self.cron)

    def as_distribution(self):
        """The unsaved request one run of this schedule makes."""
        return DistributionRequest(
            coupon=self.coupon, source=self.source, table=self.table, column=self.column, memo=self.memo
        )


class ScheduleRun(models.Model):
    """One due time of a schedule and what became of it: its request, or why there was none."""

    class Outcome(models.TextChoices):
        QUEUED = "queued", _("Queued by itself (within its limits)")
        AWAITING_APPROVAL = "awaiting_approval", _("Waiting for a manager's approval (over its limits)")
        SKIPPED_OVERLAP = "skipped_overlap", _("Skipped: the previous run had not finished")
        SKIPPED_PAUSED = "skipped_paused", _("Skipped: the schedule was paused")
        NOTHING_NEW = "nothing_new", _("Nothing to issue: every member already holds the coupon")
        REFUSED = "refused", _("Not started: the preview was refused")

    schedule = models.ForeignKey(Schedule, models.PROTECT, related_name="runs", verbose_name=_("schedule"))
    distribution = models.OneToOneField(
        DistributionRequest,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="schedule_run",
        verbose_name=_("distribution request"),
    )
    due_at = models.DateTimeField(_("due at"))
    started_by_hand = models.BooleanField(_("run now"), default=False)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("schedule run")
        verbose_name_plural = _("schedule runs")
        ordering = ["-due_at", "-pk"]
        constraints = [
            # A due time fires once, whoever looks for it (two ticks, a re-delivered task).
            models.UniqueConstraint(
                fields=["schedule", "due_at"], condition=models.Q(started_by_hand=False), name="one_run_per_due_time"
            ),
        ]

    def __str__(self):
        return f"{self.schedule} @ {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def due_in_words(self):
        return timing.moment_in_words(self.due_at)

    # A request in one of these statuses is still on its way: the next run of its schedule skips.
    UNFINISHED = (
        DistributionRequest.Status.DRAFT,
        DistributionRequest.Status.AWAITING_APPROVAL,
        DistributionRequest.Status.QUEUED,
        DistributionRequest.Status.RUNNING,
    )
