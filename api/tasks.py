"""django-q2 entry points of the Coupon API: they only call services."""

from . import services


def prune_idempotency_keys():
    return services.idempotency_keys_prune()
