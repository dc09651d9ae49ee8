"""Every read of the distribution app that is more than one model's own business."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Coupon, DistributionRequest, IssuedCoupon, Transition
from .sources import SourceError, Target, get_source
from .sources.base import Profile

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
        raise ValidationError({"table": _("%(table)s has no valid user ids: every value of %(column)s is empty, zero "
                                          "or negative.") % {"table": target.display_name, "column": target.column}})
    return target, profile


def audience_holders_count(*, coupon: Coupon, source: str, target: Target,
                           targets: int) -> tuple[int | None, int | None]:
    """(held, revoked): members of the audience who hold the coupon (usable, used or expired: skipped),
    and those whose coupon was revoked and never used (issued again); (None, None) when too many to
    look up now."""
    if not coupon.distributions.filter(issued_count__gt=0).exists():
        return 0, 0
    if targets > settings.DISTRIBUTION_PREVIEW_HOLDERS_LIMIT:
        return None, None
    held = revoked = 0
    revivable = Q(deleted_at__isnull=False, used_at__isnull=True)
    for user_ids in get_source(source).read(target, after=None, batch_size=10_000):
        counts = IssuedCoupon.objects.filter(coupon_id=coupon.pk, user_id__in=user_ids).aggregate(
            rows=Count("user_id"), revoked=Count("user_id", filter=revivable))
        held, revoked = held + counts["rows"] - counts["revoked"], revoked + counts["revoked"]
    return held, revoked


def distribution_estimate_seconds(*, targets: int) -> float | None:
    """Targets over the median rows/s of the last finished runs; None before anything was measured."""
    rates = sorted(DistributionRequest.objects.filter(
        status__in=[Status.SUCCEEDED, Status.REVOKED], rows_per_second__gt=0, read_count__gte=10_000,
    ).order_by("-finished_at").values_list("rows_per_second", flat=True)[:20])
    return targets / rates[len(rates) // 2] if rates else None


def distribution_needs_approval(*, distribution: DistributionRequest) -> bool:
    """Above the configured size or value, a second person must approve (four eyes)."""
    coupons, value = settings.DISTRIBUTION_APPROVAL_COUPONS, settings.DISTRIBUTION_APPROVAL_VALUE
    if coupons and distribution.would_issue > coupons:
        return True
    coupon = distribution.coupon
    fixed = coupon.discount_kind == coupon.DiscountKind.AMOUNT
    return bool(value and fixed and distribution.would_issue * coupon.discount_amount > value)


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


def member_coupons(*, user_id: int, coupon_ids=None, states=None, now=None) -> list[IssuedCoupon]:
    """The coupons one member holds, newest first, each with its coupon: a wallet.

    One query probes the primary key (coupon, user_id) once per coupon (`coupon_id = ANY(…) AND user_id
    = …`), so the answer takes the same time whatever the size of the bulk table: there is no index on
    user_id alone, on purpose. `coupon_ids` narrows the coupons (default: all); `states` keeps only
    those states (IssuedCoupon.State values; default: all)."""
    coupon_ids = list(coupon_ids) if coupon_ids is not None else list(Coupon.objects.values_list("pk", flat=True))
    if not coupon_ids:
        return []
    rows = IssuedCoupon.objects.filter(coupon_id__in=coupon_ids, user_id=user_id).select_related("coupon")
    now = now or timezone.now()
    held = [row for row in rows if states is None or row.state(now) in states]
    return sorted(held, key=lambda row: (row.issued_at, row.coupon_id), reverse=True)
