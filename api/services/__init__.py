"""Every write of the Coupon API, by subject:

- clients: API clients and their keys (create, revoke, last used);
- idempotency: claiming an `Idempotency-Key`, storing its answer, pruning old keys;
- issuing: the issue call, through the distribution writers;
- redeeming: redeem and release, each one conditional UPDATE of the issued coupon's row.

Reads live in `api.selectors`.
"""

from .clients import api_client_create, api_client_revoke, api_client_touch
from .idempotency import idempotency_claim, idempotency_finish, idempotency_keys_prune, idempotency_release
from .issuing import coupon_issue
from .redeeming import issued_coupon_redeem, issued_coupon_release

__all__ = [
    "api_client_create",
    "api_client_revoke",
    "api_client_touch",
    "coupon_issue",
    "idempotency_claim",
    "idempotency_finish",
    "idempotency_keys_prune",
    "idempotency_release",
    "issued_coupon_redeem",
    "issued_coupon_release",
]
