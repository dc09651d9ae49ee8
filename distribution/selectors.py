"""Every read of the distribution app that is more than one model's own business."""

from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from common.formats import money

from .holdout import coupon_holdout
from .models import Coupon, DistributionRequest, IssuedCoupon, Transition
from .sources import SourceError, Target, get_source
from .sources.base import Profile
from .writers import writer_class

Status = DistributionRequest.Status


def audience_check(*, source: str, table: str, column: str) -> tuple[Target, Profile]:
    """(target, profile) for a source, table and column; ValidationError if wrong or without valid ids."""
    try:
        reader = get_source(source)
        target = reader.resolve(table, column)
        profile = reader.profile(target)
    except SourceError as exc:
        raise ValidationError({exc.field or "table": exc.message}) from exc
    if not profile.targets:
        raise ValidationError(
            {
                "table": _("%(table)s has no valid user ids: every value of %(column)s is empty, zero or negative.")
                % {"table": target.display_name, "column": target.column}
            }
        )
    return target, profile


def audience_holders_count(
    *, coupon: Coupon, source: str, target: Target, targets: int
) -> tuple[int | None, int | None]:
    """(held, revoked): members of the audience who hold the coupon (usable, used or expired: skipped),
    and those whose coupon was revoked and never used (issued again); (None, None) when too many to
    look up now, or when they are held in a coupon service elsewhere."""
    if writer_class().remote:
        return None, None
    if not coupon.issued_so_far():  # by requests and API calls alike
        return 0, 0
    if targets > settings.DISTRIBUTION_PREVIEW_HOLDERS_LIMIT:
        return None, None
    held = revoked = 0
    revivable = Q(deleted_at__isnull=False, used_at__isnull=True)
    for user_ids in get_source(source).read(target, after=None, batch_size=10_000):
        counts = IssuedCoupon.objects.filter(coupon_id=coupon.pk, user_id__in=user_ids).aggregate(
            rows=Count("user_id"), revoked=Count("user_id", filter=revivable)
        )
        held, revoked = held + counts["rows"] - counts["revoked"], revoked + counts["revoked"]
    return held, revoked


def audience_holdout_count(*, coupon: Coupon, source: str, target: Target) -> int:
    """Members of the audience in the coupon's control group (0 when it keeps none): never issued."""
    rule = coupon_holdout(coupon)
    if rule is None:
        return 0
    try:
        return get_source(source).held_out_count(target, rule)
    except SourceError as exc:
        raise ValidationError({exc.field or "table": exc.message}) from exc


def distribution_estimate_seconds(*, targets: int) -> float | None:
    """Targets over the median rows/s of the last finished runs; None before anything was measured."""
    rates = sorted(
        DistributionRequest.objects.filter(
            status__in=[Status.SUCCEEDED, Status.REVOKED],
            rows_per_second__gt=0,
            read_count__gte=10_000,
        )
        .order_by("-finished_at")
        .values_list("rows_per_second", flat=True)[:20]
    )
    return targets / rates[len(rates) // 2] if rates else None


class ApprovalLimits(NamedTuple):
    """The most coupons, and money (fixed-amount coupons), a request may issue without approval; None: no
    limit of that kind. A schedule's runs carry their schedule's own limits instead of the site's."""

    coupons: int | None
    value: int | None

    @classmethod
    def site(cls):
        """The site's limits (settings: 0 switches one off)."""
        return cls(settings.DISTRIBUTION_APPROVAL_COUPONS or None, settings.DISTRIBUTION_APPROVAL_VALUE or None)


def distribution_needs_approval(*, distribution: DistributionRequest, limits: ApprovalLimits | None = None) -> bool:
    """Above the size or value limits (the site's unless given), a second person must approve (four eyes)."""
    return bool(distribution_approval_reasons(distribution=distribution, limits=limits))


def distribution_value(*, distribution: DistributionRequest):
    """The money at stake: coupons × amount for a fixed-amount coupon; None for a percentage."""
    coupon = distribution.coupon
    if coupon.discount_kind != coupon.DiscountKind.AMOUNT:
        return None
    return distribution.would_issue * coupon.discount_amount


def distribution_approval_reasons(
    *, distribution: DistributionRequest, limits: ApprovalLimits | None = None
) -> list[str]:
    """Each approval limit (the site's unless given) the request goes over, in words; empty when none is."""
    coupons, limit_value = limits or ApprovalLimits.site()
    value, reasons = distribution_value(distribution=distribution), []
    if coupons is not None and distribution.would_issue > coupons:
        reasons.append(
            _("It would issue %(count)s coupons; more than %(limit)s need approval.")
            % {
                "count": number_format(distribution.would_issue, force_grouping=True),
                "limit": number_format(coupons, force_grouping=True),
            }
        )
    if limit_value is not None and value is not None and value > limit_value:
        reasons.append(
            _("%(count)s coupons × %(amount)s put %(value)s at stake; more than %(limit)s needs approval.")
            % {
                "count": number_format(distribution.would_issue, force_grouping=True),
                "amount": money(distribution.coupon.discount_amount),
                "value": money(value),
                "limit": money(limit_value),
            }
        )
    return reasons


def distribution_approvers(*, distribution: DistributionRequest, limit=20) -> list[str]:
    """The names of the active staff who may approve this request (never its requester)."""
    perm = Q(codename="approve_distributionrequest", content_type__app_label="distribution")
    users = (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        .filter(
            Q(is_superuser=True)
            | Q(user_permissions__in=Permission.objects.filter(perm))
            | Q(groups__permissions__in=Permission.objects.filter(perm))
        )
    )
    users = users.exclude(pk=distribution.requested_by_id).distinct().order_by("username")
    return [user.get_username() for user in users[:limit]]


def distribution_revoke_preview(*, distribution: DistributionRequest) -> dict:
    """What revoking would do: coupons still unused (revoked) and already used (kept)."""
    coupons = distribution.coupons_issued().filter(deleted_at__isnull=True)
    used = coupons.filter(used_at__isnull=False).count()
    return {"to_revoke": coupons.count() - used, "used": used}


def member_transitions(*, coupon_id: int, user_id: int):
    """Support's revokes and restores of one member's coupon, newest first."""
    code = Coupon.objects.filter(pk=coupon_id).values_list("code", flat=True).first()
    actions = (Transition.Action.MEMBER_REVOKED, Transition.Action.MEMBER_RESTORED)
    return Transition.objects.filter(action__in=actions, details__user_id=user_id, details__coupon=code)


MEMBER_COUPON_RELATED = ("coupon", "redeemed_by", "issue_call__client")


def member_coupons(
    *, user_id: int, coupon_ids=None, states=None, now=None, related=MEMBER_COUPON_RELATED
) -> list[IssuedCoupon]:
    """The coupons one member holds, newest first, each with its coupon: a wallet.

    One query probes the primary key (coupon, user_id) once per coupon (`coupon_id = ANY(…) AND user_id
    = …`), so the answer takes the same time whatever the size of the bulk table: there is no index on
    user_id alone, on purpose. `coupon_ids` narrows the coupons (default: all); `states` keeps only
    those states (IssuedCoupon.State values; default: all); `related` the rows joined in (the Coupon API's
    wallet needs only the coupon, and each join costs every call). Every coupon is a subquery, not a list
    of ids: one query instead of two, and no parameter per coupon for the ORM to build on each call."""
    coupon_ids = list(coupon_ids) if coupon_ids is not None else Coupon.objects.values("pk")
    if isinstance(coupon_ids, list) and not coupon_ids:
        return []
    rows = IssuedCoupon.objects.filter(coupon_id__in=coupon_ids, user_id=user_id).select_related(*related)
    now = now or timezone.now()
    held = [row for row in rows if states is None or row.state(now) in states]
    return sorted(held, key=lambda row: (row.issued_at, row.coupon_id), reverse=True)


# --- Operations: /metrics, the managers' overview, checkworker (couponops/) ---------------------------
# Everything here reads DistributionRequest rows only: never the issued-coupon table, which holds tens
# of millions of rows and has no index but its primary key. A request's coupons count on the day its
# run ended (the last chunk's day while it runs): one row per request, not a scan of what it issued.


def runs_failed_total() -> int:
    """Runs that failed, ever: each failure is one Transition row, and the audit trail is never deleted."""
    return Transition.objects.filter(action=Transition.Action.FAILED).count()


def requests_by_status() -> dict[str, int]:
    """How many requests are in each status, every status present (0 when none)."""
    counts = dict(DistributionRequest.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return {status: counts.get(status, 0) for status in Status.values}


def running_request() -> DistributionRequest | None:
    return DistributionRequest.objects.filter(status=Status.RUNNING).select_related("coupon").first()


def queued_requests():
    """In line, first in first out: the order the worker takes them."""
    return DistributionRequest.objects.filter(status=Status.QUEUED).select_related("coupon").order_by("queued_at", "pk")


def awaiting_approval_requests():
    return (
        DistributionRequest.objects.filter(status=Status.AWAITING_APPROVAL)
        .select_related("coupon", "requested_by")
        .order_by("confirmed_at", "pk")
    )


def coupons_issued_total() -> int:
    """Every coupon ever issued, revoked ones included (revoking never lowers `issued_count`)."""
    return DistributionRequest.objects.aggregate(n=Coalesce(Sum("issued_count"), 0))["n"]


def failed_since(since):
    """Requests whose last run failed after `since` and that were not retried since, newest first."""
    return (
        DistributionRequest.objects.filter(status=Status.FAILED, finished_at__gte=since)
        .select_related("coupon")
        .order_by("-finished_at")
    )


def stuck_running(now, stale_after):
    """Running requests without progress for `stale_after` seconds: their worker died or hangs."""
    return DistributionRequest.objects.stale(now, stale_after)


def _with_issue_day(since):
    last_write = Coalesce("finished_at", "heartbeat_at")
    return (
        DistributionRequest.objects.filter(issued_count__gt=0)
        .annotate(day=TruncDate(last_write, tzinfo=timezone.get_current_timezone()))
        .filter(day__gte=since)
    )


def issued_per_day(days: int, today=None) -> list[tuple]:
    """(date, coupons issued) for each of the last `days` days up to today, in the current time zone."""
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    sums = dict(_with_issue_day(first).values_list("day").annotate(n=Sum("issued_count")).order_by())
    return [(first + timedelta(days=i), sums.get(first + timedelta(days=i), 0)) for i in range(days)]


def issued_per_coupon(days: int, limit: int = 10, today=None) -> list[tuple]:
    """(coupon code, coupons issued) over the last `days` days, the largest first."""
    first = (today or timezone.localdate()) - timedelta(days=days - 1)
    rows = (
        _with_issue_day(first)
        .values_list("coupon__code")
        .annotate(n=Sum("issued_count"))
        .order_by("-n", "coupon__code")[:limit]
    )
    return list(rows)


def month_totals(today=None) -> dict[str, int]:
    """This calendar month so far: coupons issued and revoked, and runs by how they ended."""
    first = (today or timezone.localdate()).replace(day=1)
    tz = timezone.get_current_timezone()
    ended = DistributionRequest.objects.annotate(day=TruncDate("finished_at", tzinfo=tz)).filter(day__gte=first)
    revoked = DistributionRequest.objects.annotate(day=TruncDate("revoked_at", tzinfo=tz)).filter(day__gte=first)
    return {
        "issued": _with_issue_day(first).aggregate(n=Coalesce(Sum("issued_count"), 0))["n"],
        "revoked": revoked.aggregate(n=Coalesce(Sum("revoked_count"), 0))["n"],
        "succeeded": ended.filter(status__in=[Status.SUCCEEDED, Status.REVOKING, Status.REVOKED]).count(),
        "failed": ended.filter(status=Status.FAILED).count(),
        "cancelled": ended.filter(status=Status.CANCELLED).count(),
    }


def source_example_table(*, source: str) -> str | None:
    """A real table of the source to show as an example (its metadata asked at most every 10 minutes)."""
    key = f"couponops:example-table:{source}"
    example = cache.get(key)
    if example is None:
        try:
            example = get_source(source).example_table() or ""
        except SourceError:
            example = ""
        cache.set(key, example, 600)
    return f"{source}: {example}" if example else None


def source_suggestions(*, source: str, table: str, column: str | None = None) -> list[str]:
    """Names completing what someone is typing: catalog.schema.table parts, or (with `column`) the table's
    integer columns. Empty when the source does not answer: suggestions are a help, never an error."""
    try:
        reader = get_source(source)
        if column is None:
            return reader.suggest(table)
        wanted = column.strip().lower()
        return [name for name in reader.integer_columns(table) if name.lower().startswith(wanted)]
    except SourceError:
        return []


def throttled_seconds_total() -> float:
    """Seconds every run ever spent slowed down or paused by the throttle or an operator (distribution/throttle.py)."""
    return DistributionRequest.objects.aggregate(total=Sum("throttled_seconds"))["total"] or 0.0
