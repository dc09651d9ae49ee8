"""`manage.py schedule create|list|pause|resume|run-now`: schedules from the command line (docs/schedules.md)."""

from datetime import date, time

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from campaigns import services
from campaigns.models import Schedule
from distribution.models import Coupon

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Command(BaseCommand):
    help = "Creates, lists, pauses, resumes or runs now the recurring distributions (schedules)."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        create = commands.add_parser("create", help="a new schedule (its preview is taken now)")
        create.add_argument("--name", required=True)
        create.add_argument("--owner", required=True, help="the user name of the marketer it runs for")
        create.add_argument("--coupon", required=True, help="the coupon's code")
        create.add_argument("--source", required=True, help="a source named in settings (e.g. warehouse, demo)")
        create.add_argument("--table", required=True, help="catalog.schema.table")
        create.add_argument("--column", required=True, help="the column holding user ids")
        create.add_argument("--memo", required=True, help="why: the campaign this audience is for")
        when = create.add_mutually_exclusive_group(required=True)
        when.add_argument("--daily", metavar="HH:MM", help="every day at this time (the site's time zone)")
        when.add_argument("--weekly", metavar="DAYS@HH:MM", help="e.g. mon,wed@09:00")
        when.add_argument("--cron", metavar="EXPR", help='five fields, e.g. "0 9 * * 1-5"')
        create.add_argument("--first-day", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default today)")
        create.add_argument("--last-day", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default none)")
        create.add_argument("--max-coupons", type=int, required=True, help="most coupons a run issues unapproved")
        create.add_argument("--max-value", type=int, default=None, help="fixed-amount coupons: most money per run")
        commands.add_parser("list", help="every schedule with its next run and last outcome")
        for action in ("pause", "resume", "run-now"):
            commands.add_parser(action).add_argument("schedule", type=int, help="the schedule's number")

    def handle(self, *args, action, **options):
        try:
            getattr(self, action.replace("-", "_"))(**options)
        except ValidationError as exc:
            raise CommandError(
                "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
            ) from exc

    def create(self, **options):
        schedule = Schedule(
            name=options["name"],
            owner=_get(get_user_model(), "user", username=options["owner"]),
            coupon=_get(Coupon, "coupon", code=options["coupon"]),
            **{key: options[key] for key in ("source", "table", "column", "memo", "max_coupons", "max_value")},
            **_when(options),
        )
        if options["first_day"]:
            schedule.first_day = options["first_day"]
        schedule.last_day = options["last_day"]
        services.schedule_save(schedule=schedule)
        self.stdout.write(
            f"Schedule #{schedule.pk} {schedule.name!r}: {schedule.rule_in_words}, next {_next(schedule)}."
        )
        self.stdout.write(f"Preview: {schedule.preview['would_issue']:,} coupons would be issued now.")

    def list(self, **options):
        for schedule in Schedule.objects.select_related("coupon"):
            last = schedule.runs.first()
            state = "paused" if schedule.is_paused else "active"
            self.stdout.write(
                f"#{schedule.pk}\t{schedule.name}\t{schedule.coupon.code}\t{schedule.rule_in_words}\t{state}\t"
                f"next {_next(schedule)}\tlast {last.outcome if last else '-'}"
            )

    def pause(self, *, schedule, **options):
        done = services.schedule_pause(schedule=_get(Schedule, "schedule", pk=schedule))
        self.stdout.write(f"Schedule #{schedule} paused." if done else f"Schedule #{schedule} was already paused.")

    def resume(self, *, schedule, **options):
        done = services.schedule_resume(schedule=_get(Schedule, "schedule", pk=schedule))
        self.stdout.write(f"Schedule #{schedule} resumed." if done else f"Schedule #{schedule} was not paused.")

    def run_now(self, *, schedule, **options):
        run = services.schedule_run_now(schedule=_get(Schedule, "schedule", pk=schedule))
        request = f" request #{run.distribution_id}" if run.distribution_id else ""
        self.stdout.write(f"Schedule #{schedule}: {run.outcome}{request}. {run.note}".strip())


def _get(model, what, **lookup):
    found = model.objects.filter(**lookup).first()
    if found is None:
        raise CommandError(f"No {what} with {', '.join(f'{k}={v!r}' for k, v in lookup.items())}.")
    return found


def _when(options):
    if options["daily"]:
        return {"kind": Schedule.Kind.DAILY, "at_time": _clock(options["daily"])}
    if options["weekly"]:
        days, _, clock = options["weekly"].partition("@")
        try:
            weekdays = sorted({WEEKDAYS.index(day.strip().lower()[:3]) for day in days.split(",")})
        except ValueError:
            raise CommandError(f"--weekly: days are {','.join(WEEKDAYS)}, e.g. mon,wed@09:00.") from None
        return {"kind": Schedule.Kind.WEEKLY, "weekdays": weekdays, "at_time": _clock(clock)}
    return {"kind": Schedule.Kind.CRON, "cron": options["cron"]}


def _clock(text):
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise CommandError(f"Not a time of day: {text!r} (HH:MM).") from None


def _next(schedule):
    return schedule.next_run_at.isoformat() if schedule.next_run_at else "none (past its last day)"
