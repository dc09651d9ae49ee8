"""When a schedule runs: its rule as a cron expression, its run times in the site's time zone, in words.

Every kind (daily, weekly, cron) becomes one cron expression, so one calculation (croniter's) serves
them all. The zone is the site's TIME_ZONE, read at call time: "09:00 daily" means 09:00 where the
marketers are (Asia/Seoul by default), whatever the server's clock says.
"""

from datetime import datetime, time, timedelta

from croniter import croniter
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

# Python's weekday numbers (0 = Monday); cron counts from Sunday = 0.
WEEKDAYS = range(7)


def weekday_names():
    return [
        pgettext("weekday", "Mon"),
        pgettext("weekday", "Tue"),
        pgettext("weekday", "Wed"),
        pgettext("weekday", "Thu"),
        pgettext("weekday", "Fri"),
        pgettext("weekday", "Sat"),
        pgettext("weekday", "Sun"),
    ]


def cron_is_valid(expression):
    return bool(expression) and len(expression.split()) == 5 and croniter.is_valid(expression)


def cron_for(*, kind, at_time, weekdays, cron):
    """The cron expression of a rule; None when the rule is incomplete."""
    if kind == "cron":
        return cron if cron_is_valid(cron) else None
    if at_time is None:
        return None
    days = "*" if kind == "daily" else ",".join(str((day + 1) % 7) for day in sorted(weekdays))
    return None if days == "" else f"{at_time.minute} {at_time.hour} * * {days}"


def runs_after(expression, moment, first_day, last_day, count):
    """Up to `count` run times strictly after `moment`, none before `first_day` nor after `last_day`
    (local dates); aware datetimes in the site's zone."""
    if expression is None:
        return []
    zone = timezone.get_default_timezone()
    day_before = datetime.combine(first_day, time.min, zone) - timedelta(seconds=1)
    times = croniter(expression, max(timezone.localtime(moment, zone), day_before))
    found = []
    while len(found) < count:
        run = times.get_next(datetime)
        if last_day is not None and run.date() > last_day:
            break
        found.append(run)
    return found


def rule_in_words(*, kind, at_time, weekdays, cron):
    """ "Daily at 09:00", "Weekly on Mon, Wed at 09:00" (매일 09:00, 매주 월·수 09:00), or the cron expression."""
    if kind == "cron":
        return _("Cron “%(cron)s”") % {"cron": cron}
    clock = at_time.strftime("%H:%M") if at_time else "–"
    if kind == "daily":
        return _("Daily at %(time)s") % {"time": clock}
    names = weekday_names()
    days = pgettext("between weekday names", ", ").join(names[day] for day in sorted(weekdays))
    return _("Weekly on %(days)s at %(time)s") % {"days": days, "time": clock}


def moment_in_words(moment):
    """A run time as people read it: weekday, date and 24-hour clock in the site's zone."""
    return formats.date_format(timezone.localtime(moment), pgettext("schedule run time", "D, N j, Y, H:i"))
