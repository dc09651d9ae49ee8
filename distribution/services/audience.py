"""What was confirmed is what runs: a run checks the audience against its preview before the first coupon,
never issues past the confirmed count, and a changed audience goes back to its requester as a new draft."""

from django.db.models import Q

from .. import lifecycle
from ..actors import Actor
from ..failures import RunStopped
from ..models import DistributionRequest
from ..sources.base import Rows, Source, Target
from .drafting import PREVIEW_FIELDS, preview_take
from .moves import distribution_move, distribution_move_require
from .queue import CLEARED_FAILURE

Move = lifecycle.Move


class AudienceChanged(RunStopped):
    """The table no longer holds the confirmed audience: the run stops, nothing more is issued."""


def audience_verify(*, distribution: DistributionRequest, source: Source, target: Target):
    """Raises AudienceChanged unless the table holds exactly the members of the preview (same count, same
    fingerprint). A request previewed before fingerprints existed has none and is not checked.

    The table's rows are checked first, in one scan without grouping: the same rows as at preview mean the
    same members. Only rows that changed (other members, or merely a duplicate more) take the distinct ids'
    own check, the one that decides."""
    if not distribution.audience_fingerprint:
        return
    if distribution.audience_rows_fingerprint and source.rows(target) == _previewed_rows(distribution):
        return
    _compare(distribution, source.audience(target))


def _previewed_rows(distribution):
    return Rows(distribution.target_count + distribution.duplicate_count, distribution.audience_rows_fingerprint)


def _compare(distribution, audience):
    confirmed = distribution.target_count
    if audience.targets == confirmed and audience.fingerprint == distribution.audience_fingerprint:
        return
    if audience.targets != confirmed:
        raise AudienceChanged(
            "audience_count_changed", now=audience.targets, confirmed=confirmed, **_issued_so_far(distribution)
        )
    raise AudienceChanged("audience_members_changed", confirmed=confirmed, **_issued_so_far(distribution))


def audience_grew_mid_run(distribution: DistributionRequest, *, read: int) -> AudienceChanged:
    """The error for a chunk that would take the members read past the confirmed count (the chunk is
    rolled back by the caller's transaction; the counts quoted are the committed ones)."""
    committed = DistributionRequest.objects.get(pk=distribution.pk)
    return AudienceChanged(
        "audience_grew",
        confirmed=distribution.target_count,
        chunk=read,
        read=committed.read_count + read,
        **_issued_so_far(committed),
    )


def _issued_so_far(distribution):
    committed = DistributionRequest.objects.get(pk=distribution.pk)
    return {"issued": committed.issued_count, "reissued": committed.reissued_count}


def distribution_preview_again(*, distribution: DistributionRequest, actor: Actor) -> bool:
    """Takes a request stopped by a changed audience back to a draft with a fresh preview of the table as
    it is now; False if it was not in that state (a second click). Its requester then confirms it again
    (and, when large, another person approves it): the only way on after a change. A request queued
    from the command line becomes the request of the person who previews it again.

    What it issued stays issued and counts as held on the next pass; that pass reads the whole new
    audience again from the start, so its read and skipped counts start from zero (the history keeps
    the earlier ones). Raises ValidationError, changing nothing, if the table is now unusable."""
    distribution.refresh_from_db()
    distribution_move_require(distribution=distribution, action=Move.PREVIEWED_AGAIN, actor=actor)
    requester = distribution.requested_by_id
    before = {
        "targets": distribution.target_count,
        "read": distribution.read_count,
        "skipped": distribution.skipped_count,
    }
    preview_take(distribution=distribution)
    fields = {
        "requested_by_id": requester or actor.user_id,
        **RESET_FOR_A_NEW_PASS,
        **{field: getattr(distribution, field) for field in PREVIEW_FIELDS},
    }
    # The requester as checked: of two people taking over a command-line request, one gets it.
    return distribution_move(
        distribution=distribution,
        action=Move.PREVIEWED_AGAIN,
        actor=actor,
        fields=fields,
        where=Q(requested_by_id=requester),
        details={"before": before},
    )


# What a fresh pass starts without: its own progress, confirmation and approval.
RESET_FOR_A_NEW_PASS = {
    "read_count": 0,
    "skipped_count": 0,
    "checkpoint": None,
    **CLEARED_FAILURE,
    "error_message": "",
    "finished_at": None,
    "confirmed_by": None,
    "confirmed_at": None,
    "approved_by": None,
    "approved_at": None,
    "queued_at": None,
}
