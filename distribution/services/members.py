"""Support's tools for one member: revoke or restore their coupon, with a reason, in the issuing request's history
(or, for a coupon a Coupon API call issued, in a record of its own)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import lifecycle
from ..actors import Actor
from ..models import Coupon, DistributionRequest, IssuedCoupon
from .moves import distribution_move_record, distribution_move_require

Action = lifecycle.Move


def issued_coupon_revoke(*, coupon: Coupon, user_id: int, actor: Actor, reason: str) -> bool:
    """Revokes one member's coupon if it is usable (not used, not revoked); False otherwise, changing
    nothing. Needs the revoke permission and a reason; recorded in the history of the request that
    issued it."""
    rows = IssuedCoupon.objects.filter(deleted_at__isnull=True, used_at__isnull=True)
    return _change(coupon, user_id, actor, reason, rows, Action.MEMBER_REVOKED, deleted_at=timezone.now())


def issued_coupon_restore(*, coupon: Coupon, user_id: int, actor: Actor, reason: str) -> bool:
    """Gives back one member's revoked, never used coupon, as it was (same request, issue time and expiry);
    False if it is not revoked or was used. Not while its request is being revoked: that revoke would take
    it again. Same permission and record as revoking."""
    row = IssuedCoupon.objects.filter(coupon_id=coupon.pk, user_id=user_id).select_related("distribution").first()
    issuer = row.distribution if row is not None else None
    if issuer is not None and issuer.status == DistributionRequest.Status.REVOKING:
        raise ValidationError(
            _("Request #%(pk)s is revoking its coupons right now; restore this one once it shows “Revoked”.")
            % {"pk": issuer.pk}
        )
    rows = IssuedCoupon.objects.filter(deleted_at__isnull=False, used_at__isnull=True)
    return _change(coupon, user_id, actor, reason, rows, Action.MEMBER_RESTORED, deleted_at=None)


def _change(coupon, user_id, actor, reason, rows, action, **values):
    distribution_move_require(distribution=None, action=action, actor=actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why: the reason is kept in the request's history.")})
    with transaction.atomic():
        # The conditional UPDATE is the claim: of two support agents clicking at once, one changes the row.
        changed = rows.filter(coupon_id=coupon.pk, user_id=user_id).update(**values)
        if changed:
            row = IssuedCoupon.objects.select_related("distribution").get(coupon_id=coupon.pk, user_id=user_id)
            issuer = {"issue_call": row.issue_call_id} if row.distribution is None else {}
            distribution_move_record(
                distribution=row.distribution,
                action=action,
                actor=actor,
                user_id=user_id,
                coupon=coupon.code,
                reason=reason,
                **issuer,
            )
    return bool(changed)
