"""Every write of the campaigns app: saving, pausing and resuming schedules, and firing their runs.

A run is an ordinary distribution request, made through distribution's own services (draft with a fresh
preview, confirm): the same checks, fingerprint, queue and Slack messages as a request typed in the
admin. It is requested by the schedule's owner and confirmed by the system on their behalf, with the
schedule's limits in place of the site's: within them it is queued by itself, over them it waits for
another person's approval (four eyes, as always).
"""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from distribution import services as distribution_services
from distribution.actors import Actor
from distribution.failpoints import failpoint
from distribution.models import DistributionRequest
from distribution.selectors import distribution_approval_reasons

from .models import Schedule, ScheduleRun

logger = logging.getLogger(__name__)
Outcome = ScheduleRun.Outcome
Status = DistributionRequest.Status


def schedule_preview(*, schedule: Schedule) -> dict:
    """What the next run would do if it ran now, as a draft request's preview shows it; saves nothing.

    Raises ValidationError keyed by form field (table, column, coupon), as the request form does."""
    distribution = distribution_services.distribution_preview(distribution=schedule.as_distribution())
    schedule.table, schedule.column = distribution.table, distribution.column
    return {
        "at": timezone.now().isoformat(),
        "targets": distribution.target_count,
        "held": distribution.held_count,
        "reissue": distribution.preview_reissue_count,
        "held_out": distribution.holdout_count,
        "would_issue": distribution.would_issue,
        "invalid": distribution.invalid_count,
        "duplicates": distribution.duplicate_count,
        "samples": distribution.sample_ids,
        "estimated_seconds": distribution.estimated_seconds,
        "approval_reasons": distribution_approval_reasons(distribution=distribution, limits=schedule.limits),
    }


def schedule_save(*, schedule: Schedule, preview: dict | None = None, now=None) -> Schedule:
    """Saves a new or changed schedule with its preview (taken now unless given) and its next run time.

    Raises ValidationError keyed by field; nothing is saved then."""
    schedule.full_clean()
    schedule.preview = preview if preview is not None else schedule_preview(schedule=schedule)
    schedule.next_run_at = schedule.next_after(now or timezone.now())
    schedule.save()
    return schedule


def schedule_pause(*, schedule: Schedule) -> bool:
    """Pauses a schedule: its due times are recorded as skipped until it is resumed. False if it was paused."""
    return _set_paused(schedule, True)


def schedule_resume(*, schedule: Schedule) -> bool:
    """Resumes a paused schedule from its next due time. False if it was not paused."""
    return _set_paused(schedule, False)


def _set_paused(schedule, paused):
    updated = Schedule.objects.filter(pk=schedule.pk, is_paused=not paused).update(is_paused=paused)
    schedule.refresh_from_db()
    return bool(updated)


def schedules_run_due(*, now=None) -> list[ScheduleRun]:
    """Fires every schedule whose time has come (the every-minute task). A schedule due several times
    over (the worker was down for days) fires once, and its next time is the first one after now."""
    now = now or timezone.now()
    runs = []
    for schedule in Schedule.objects.due(now).select_related("coupon", "owner"):
        if (run := schedule_fire(schedule=schedule, now=now)) is not None:
            runs.append(run)
    return runs


@transaction.atomic
def schedule_fire(*, schedule: Schedule, now) -> ScheduleRun | None:
    """Claims the schedule's due time and makes its run, in one transaction: a worker killed on the way
    rolls both back, and the next look fires it again, exactly once. None if another look claimed it."""
    due_at = schedule.next_run_at
    claimed = Schedule.objects.filter(pk=schedule.pk, next_run_at=due_at).update(next_run_at=schedule.next_after(now))
    if not claimed:
        return None
    run = _run(schedule, due_at=due_at, by_hand=False)
    failpoint("schedule:fired")  # tests: a worker killed before this commit rolls the claim back too
    return run


@transaction.atomic
def schedule_run_now(*, schedule: Schedule) -> ScheduleRun:
    """Makes a run at once, outside the schedule's times (which stay as they are); paused or not."""
    schedule = Schedule.objects.select_for_update().select_related("coupon", "owner").get(pk=schedule.pk)
    return _run(schedule, due_at=timezone.now(), by_hand=True)


def _run(schedule, *, due_at, by_hand):
    """One run, with the schedule's row locked (runs of one schedule are made one at a time)."""
    if schedule.is_paused and not by_hand:
        return _record(schedule, due_at, by_hand, Outcome.SKIPPED_PAUSED)
    if (previous := _unfinished_run(schedule)) is not None:
        note = _("The run due %(due)s (request #%(pk)s) is still %(status)s.") % {
            "due": previous.due_in_words,
            "pk": previous.distribution_id,
            "status": previous.distribution.get_status_display().lower(),
        }
        return _record(schedule, due_at, by_hand, Outcome.SKIPPED_OVERLAP, note=note)
    distribution = schedule.as_distribution()
    try:
        with transaction.atomic():  # a refusal after the draft takes the draft back with it
            status = _draft_and_confirm(schedule, distribution)
    except NothingNew as exc:  # a quiet day: no newcomer since the last run
        return _record(schedule, due_at, by_hand, Outcome.NOTHING_NEW, note=str(exc))
    except PermissionDenied as exc:  # the owner may no longer draft requests (left the marketing team)
        return _refuse(schedule, due_at, by_hand, str(exc))
    except ValidationError as exc:
        note = " ".join(message for messages in exc.message_dict.values() for message in messages)
        return _refuse(schedule, due_at, by_hand, note)
    if status == Status.AWAITING_APPROVAL:
        reasons = distribution_approval_reasons(distribution=distribution, limits=schedule.limits)
        return _record(schedule, due_at, by_hand, Outcome.AWAITING_APPROVAL, distribution, " ".join(reasons))
    return _record(schedule, due_at, by_hand, Outcome.QUEUED, distribution)


class NothingNew(Exception):
    """The fresh preview finds no member without the coupon: the draft is taken back, the run records why."""


def _draft_and_confirm(schedule, distribution):
    actor = Actor.for_schedule(schedule.owner, f"schedule #{schedule.pk}")  # stored: in no reader's language
    distribution_services.distribution_draft(distribution=distribution, actor=actor)
    if (reason := distribution.nothing_to_issue()) is not None:
        raise NothingNew(reason)
    return distribution_services.distribution_confirm(distribution=distribution, actor=actor, limits=schedule.limits)


def _refuse(schedule, due_at, by_hand, note):
    logger.warning("schedule %s: run due %s refused: %s", schedule.pk, due_at, note)
    return _record(schedule, due_at, by_hand, Outcome.REFUSED, note=note)


def _unfinished_run(schedule):
    return (
        schedule.runs.filter(distribution__status__in=ScheduleRun.UNFINISHED)
        .select_related("distribution")
        .order_by("-due_at")
        .first()
    )


def _record(schedule, due_at, by_hand, outcome, distribution=None, note=""):
    run = ScheduleRun.objects.create(
        schedule=schedule, due_at=due_at, started_by_hand=by_hand, outcome=outcome, distribution=distribution, note=note
    )
    logger.info("schedule %s: run due %s %s (request %s)", schedule.pk, due_at, outcome, run.distribution_id)
    return run
