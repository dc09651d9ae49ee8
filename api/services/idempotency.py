"""`Idempotency-Key`: one logical issue call per key, whatever the retries.

A call claims its key by inserting the key's row (the unique constraint refuses a second) before
it issues anything, and stores its answer in the same transaction as what it issued. So a retry
finds either the stored answer, or the claim of a call still running (409), or nothing (the first
call failed and issued nothing). A claim older than API_IDEMPOTENCY_STALE_AFTER belongs to a call
that died; another call takes it over, and `attempts` fences the dead one should it wake up.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import ApiError
from ..models import ApiClient, IdempotencyKey

State = IdempotencyKey.State


@dataclass(frozen=True)
class Stored:
    """The answer a finished call with this key gave, to be given again."""

    status: int
    body: dict


def idempotency_claim(*, client: ApiClient, key: str, fingerprint: str) -> IdempotencyKey | Stored:
    """The claimed key's row, or the stored answer of the same call; ApiError 422 for the same key with
    another request, 409 while a call with this key still runs."""
    for _attempt in range(3):  # the row may vanish between our INSERT and our read: its call failed
        claimed = _insert(client, key, fingerprint)
        if claimed is not None:
            return claimed
        row = IdempotencyKey.objects.filter(client=client, key=key).first()
        if row is not None:
            return _existing(row, fingerprint)
    raise _in_progress()


def _insert(client, key, fingerprint):
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(
                client=client, key=key, fingerprint=fingerprint, claimed_at=timezone.now()
            )
    except IntegrityError:
        return None


def _existing(row, fingerprint):
    if row.fingerprint != fingerprint:
        raise ApiError(
            422,
            "idempotency_key_reused",
            _("This Idempotency-Key was used for another request (another coupon or other ids); use a new key."),
        )
    if row.state == State.DONE:
        return Stored(row.response_status, row.response_body)
    now = timezone.now()
    if now - row.claimed_at < timedelta(seconds=settings.API_IDEMPOTENCY_STALE_AFTER):
        raise _in_progress()
    taken = IdempotencyKey.objects.filter(pk=row.pk, state=State.IN_PROGRESS, attempts=row.attempts).update(
        attempts=F("attempts") + 1, claimed_at=now
    )
    if not taken:
        raise _in_progress()
    row.refresh_from_db()
    return row


def _in_progress():
    return ApiError(
        409,
        "idempotency_key_in_progress",
        _("A call with this Idempotency-Key is still running; retry in a moment to get its answer."),
    )


def idempotency_finish(*, claim: IdempotencyKey, status: int, body: dict) -> bool:
    """Stores the answer, inside the call's transaction; False when this call lost its claim."""
    return bool(
        IdempotencyKey.objects.filter(pk=claim.pk, state=State.IN_PROGRESS, attempts=claim.attempts).update(
            state=State.DONE, response_status=status, response_body=body
        )
    )


def idempotency_release(*, claim: IdempotencyKey):
    """The call failed and issued nothing: the same call with the same key may be tried again."""
    IdempotencyKey.objects.filter(pk=claim.pk, state=State.IN_PROGRESS, attempts=claim.attempts).delete()


def idempotency_keys_prune(*, now=None) -> int:
    """Deletes keys older than API_IDEMPOTENCY_KEEP_HOURS; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.API_IDEMPOTENCY_KEEP_HOURS)
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
