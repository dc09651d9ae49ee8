"""The issue call: a client hands one coupon to up to API_ISSUE_MAX_IDS members, once per idempotency key."""

import logging
from functools import partial

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from distribution.holdout import holdout_split
from distribution.models import MEMBER_ID_MAX, Coupon
from distribution.writers import BudgetExceeded, Chunk, Written, get_writer

from ..errors import ApiError
from ..models import ApiClient, IssueCall
from .idempotency import Stored, idempotency_claim, idempotency_finish, idempotency_release

logger = logging.getLogger("couponops.api")


def coupon_issue(*, client: ApiClient, coupon: Coupon, user_ids: list[int], key: str, fingerprint: str) -> Stored:
    """Issues the coupon to the ids it can, or gives again the answer the same call got before.

    The answer: {"issued", "reissued", "already_held", "held_out", "invalid"}. Raises ApiError, having issued
    nothing, when the coupon may not be issued or its budget would be exceeded."""
    claim = idempotency_claim(client=client, key=key, fingerprint=fingerprint)
    if isinstance(claim, Stored):
        return claim
    try:
        return Stored(200, _issue(client, coupon, user_ids, claim))
    except BaseException:
        idempotency_release(claim=claim)
        raise


def split_ids(user_ids: list[int]) -> tuple[list[int], list[int]]:
    """(valid ids ascending and distinct, invalid ids distinct in the order given): a member id is a
    positive bigint, as in the warehouse audiences."""
    valid = {user_id for user_id in user_ids if 0 < user_id <= MEMBER_ID_MAX}
    invalid = dict.fromkeys(user_id for user_id in user_ids if not 0 < user_id <= MEMBER_ID_MAX)
    return sorted(valid), list(invalid)


@transaction.atomic
def _issue(client, coupon, user_ids, claim):
    coupon.lock_for_issuing()
    _check(coupon.check_issuable, "coupon_not_issuable")
    valid, invalid = split_ids(user_ids)
    now = timezone.now()
    call = IssueCall.objects.create(
        client=client, coupon=coupon, idempotency_key=claim.key, at=now, invalid_count=len(invalid)
    )
    kept, held_out = holdout_split(coupon, valid)  # the coupon's control group: the same members as its runs'
    written = _write(coupon, call, kept, now)
    call.issued_count, call.reissued_count = written.issued, getattr(written, "reissued", 0)
    call.held_out_count = len(held_out)
    call.already_held_count = len(kept) - call.issued_count - call.reissued_count
    call.save(update_fields=["issued_count", "reissued_count", "already_held_count", "held_out_count"])
    answer = {
        "issued": call.issued_count,
        "reissued": call.reissued_count,
        "already_held": call.already_held_count,
        "held_out": held_out,
        "invalid": invalid,
    }
    if not idempotency_finish(claim=claim, status=200, body=answer):
        raise ApiError(
            409,
            "idempotency_key_in_progress",
            _("This call's claim on its Idempotency-Key was taken over; retry to get the answer."),
        )
    logger.info(
        "API issue: client=%s coupon=%s key=%s %s",
        client.name,
        coupon.code,
        claim.key,
        answer | {"invalid": len(invalid), "held_out": len(held_out)},
    )
    return answer


def _write(coupon, call, valid, now):
    if not valid:
        return Written(issued=0)
    chunk = Chunk(coupon.pk, None, valid, now, coupon.expiry_for(now), issue_call_id=call.pk)
    try:
        written = get_writer().write(chunk, limit=coupon.budget_left())
    except BudgetExceeded as exc:
        _check(partial(coupon.check_budget, exc.args[0]), "budget_exceeded")
        raise
    if connection.vendor == "postgresql":
        # The COPY writer lets a chunk commit without waiting for its WAL flush (a distribution redoes
        # a lost chunk on resume). A caller told "issued" must be able to rely on it: this
        # transaction waits for its flush.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = on")
    return written


def _check(rule, code):
    """Runs one of the coupon's rules (the same as for admin requests), turning its refusal into a 409."""
    try:
        rule()
    except ValidationError as exc:
        raise ApiError(409, code, " ".join(exc.message_dict.get("coupon", exc.messages))) from exc
