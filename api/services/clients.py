"""API clients and their keys."""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import ApiClient, key_hash

logger = logging.getLogger("couponops.api")

# Recording every call's time would make the client's row a hot spot written by every request;
# a minute's precision is all "last used" needs.
TOUCH_EVERY = timedelta(minutes=1)


@transaction.atomic
def api_client_create(*, name: str, scopes: list[str], created_by=None) -> tuple[ApiClient, str]:
    """A new client and its key; the key is returned this once and stored only as a hash."""
    prefix, key = ApiClient.new_key()
    client = ApiClient(
        name=name, scopes=sorted(set(scopes)), key_prefix=prefix, key_hash=key_hash(key), created_by=created_by
    )
    client.full_clean()
    client.save()
    logger.info("API client %s created (key %s) by %s", name, client.key_display, created_by or "the command line")
    return client, key


def api_client_revoke(*, client: ApiClient) -> bool:
    """Its key stops working at once; False when it was revoked already."""
    revoked = ApiClient.objects.filter(pk=client.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), is_active=False
    )
    if revoked:
        logger.info("API client %s: key %s revoked", client.name, client.key_display)
    return bool(revoked)


def api_client_touch(*, client: ApiClient, now=None):
    """Records that the client called, at most once a minute."""
    now = now or timezone.now()
    if client.last_used_at is not None and now - client.last_used_at < TOUCH_EVERY:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_EVERY)
    ApiClient.objects.filter(stale, pk=client.pk).update(last_used_at=now)
    client.last_used_at = now
