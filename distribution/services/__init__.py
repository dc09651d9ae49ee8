"""Every write of the distribution app, by subject (as Zulip's `zerver/actions/`):

- drafting: preview (checks, no save), draft, confirm, approve, reject, discard, submit (draft + confirm);
- queue: wake the worker, claim the next request, take over dead runs, retry, cancel;
- running: the worker's run of one request, chunk by chunk;
- worker: one wake-up of the worker, and the periodic look at the queue (take-overs, wake-ups);
- audience: what was confirmed is what runs (the check before a run, a fresh preview after a change);
- revoking: soft-deleting a request's coupons in the background;
- members: revoking or restoring one member's coupon, for support;
- moves: the one function that moves a request along its lifecycle (distribution/lifecycle.py's table);
- audit: the one record of every move.

Reads live in `distribution.selectors`.
"""

from .audience import AudienceChanged, distribution_preview_again
from .drafting import (
    distribution_approve,
    distribution_confirm,
    distribution_discard,
    distribution_draft,
    distribution_preview,
    distribution_reject,
    distribution_submit,
)
from .members import issued_coupon_restore, issued_coupon_revoke
from .moves import distribution_move
from .queue import (
    distribution_cancel,
    distribution_claim_next,
    distribution_queue_kick,
    distribution_requeue_stale,
    distribution_retry,
)
from .revoking import distribution_revoke, distribution_revoke_run
from .running import (
    ClaimLost,
    DistributionError,
    Stopping,
    distribution_fail,
    distribution_issue_chunk,
    distribution_release,
    distribution_run,
    distribution_stop_audience_changed,
    distribution_succeed,
)
from .wakeups import distribution_run_queue, distribution_watch

__all__ = [
    "AudienceChanged",
    "distribution_preview_again",
    "distribution_stop_audience_changed",
    "issued_coupon_restore",
    "issued_coupon_revoke",
    "ClaimLost",
    "DistributionError",
    "Stopping",
    "distribution_approve",
    "distribution_cancel",
    "distribution_claim_next",
    "distribution_confirm",
    "distribution_discard",
    "distribution_draft",
    "distribution_fail",
    "distribution_issue_chunk",
    "distribution_preview",
    "distribution_queue_kick",
    "distribution_reject",
    "distribution_release",
    "distribution_requeue_stale",
    "distribution_retry",
    "distribution_revoke",
    "distribution_revoke_run",
    "distribution_run",
    "distribution_run_queue",
    "distribution_submit",
    "distribution_succeed",
    "distribution_move",
    "distribution_watch",
]
