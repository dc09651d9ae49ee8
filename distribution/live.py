"""The parts of a request's pages that change by themselves while it is live, rendered in one place.

The list and the request page render each part through `render`, wrapped in a marked span; the
progress endpoint answers the same fragments, so the page's script only swaps HTML and knows nothing
of statuses, counts or buttons.
"""

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from common.formats import DASH, moment, number, time_of_day

from . import lifecycle, throttle
from .lease import lease_lapsed_since
from .models import DistributionRequest

Status = DistributionRequest.Status


def when(value):
    """A moment people scan in a list (common/formats.py)."""
    return moment(value)


def start_time(value):
    """“14:00” today (Korean “오후 2:00”), the whole moment another day, in the site's time zone."""
    if timezone.localtime(value).date() == timezone.localdate():
        return time_of_day(value)
    return moment(value)


def status_label(obj):
    """The status in words, with the scheduled start while a queued request waits for it."""
    starts = obj.starts_later() if obj.status == Status.QUEUED else None
    if starts is not None:
        return _("Queued · starts at %(time)s") % {"time": start_time(starts)}
    retries = obj.retries_later()
    if retries is not None:
        return _("Queued · retrying at %(time)s") % {"time": start_time(retries)}
    return obj.get_status_display()


count = number


def progress_detail(obj):
    """“1,234,567 / 10,000,000 · 420,000 per second · about 21 s left” while running, the counts otherwise;
    never a live rate for a run whose worker stopped reporting: that it stopped, and since when."""
    counts = f"{count(obj.read_count)} / {count(obj.target_count or 0)}"
    lapsed = lease_lapsed_since(obj)
    if lapsed is not None:
        return _("%(counts)s · the worker stopped reporting at %(time)s; it will be taken over") % {
            "counts": counts,
            "time": time_of_day(lapsed),
        }
    rate = obj.live_rate() if obj.status == Status.RUNNING else None
    if not rate:
        return counts
    left = max(0, (obj.target_count or 0) - obj.read_count) / rate
    return _("%(counts)s · %(rate)s per second · about %(left)s s left") % {
        "counts": counts,
        "rate": count(round(rate)),
        "left": count(round(left)),
    }


def elapsed(obj):
    if not obj.elapsed_seconds:
        return DASH
    # Rounded: number_format cuts the digits off, and 0.09 s read "0.0 s" beside a rate of thousands per second.
    return _("%(seconds)s s") % {"seconds": number_format(round(obj.elapsed_seconds, 1), 1, force_grouping=True)}


def rate(obj):
    return count(round(obj.rows_per_second)) if obj.rows_per_second else DASH


def progress(obj):
    return format_html(
        '<progress max="100" value="{}"></progress> <span class="percent">{}%</span> <span class="detail">{}</span>{}',
        obj.progress_percent,
        obj.progress_percent,
        progress_detail(obj),
        throttle_note(obj),
    )


def throttle_note(obj):
    """“Slowed down: members' latency 62 ms > 40 ms” while the throttle holds a running request back."""
    note = throttle.describe(obj.throttle or {}) if obj.status == Status.RUNNING else ""
    return format_html(' <span class="throttle">{}</span>', note) if note else ""


def tools(obj, user):
    """The request page's buttons that depend on its status: Revoke once it is revocable, Pause while it runs,
    Resume while it is paused."""
    links = []
    if lifecycle.may(distribution=obj, action=lifecycle.Move.REVOKE_STARTED, user=user):
        url = reverse("admin:distribution_distributionrequest_revoke", args=[obj.pk])
        links.append(format_html('<a href="{}" id="revoke">{}</a>', url, _("Revoke coupons")))
    move, action, label = (
        (lifecycle.Move.RESUMED, "resume", _("Resume"))
        if obj.paused_at
        else (lifecycle.Move.PAUSED, "pause", _("Pause"))
    )
    if lifecycle.may(distribution=obj, action=move, user=user):
        url = reverse(f"admin:distribution_distributionrequest_{action}", args=[obj.pk])
        links.append(format_html('<a href="{}" id="{}">{}</a>', url, action, label))
    return format_html_join(" ", "{}", ((link,) for link in links))


RENDERERS = {
    "status": lambda obj, user: status_label(obj),
    "progress": lambda obj, user: progress(obj),
    "read": lambda obj, user: count(obj.read_count),
    "issued": lambda obj, user: count(obj.issued_count),
    "skipped": lambda obj, user: count(obj.skipped_count),
    "revoked": lambda obj, user: count(obj.revoked_count),
    "elapsed": lambda obj, user: elapsed(obj),
    "rate": lambda obj, user: rate(obj),
    "finished": lambda obj, user: when(obj.finished_at),
    "error": lambda obj, user: obj.error_text or DASH,
    "tools": tools,
}


def render(obj, name, user=None):
    """One live part, marked for the script: `data-live` says whether the request still changes.
    `user` matters only for the buttons ("tools"), which depend on who looks."""
    return format_html(
        '<span class="live live-{}" data-request="{}" data-field="{}" data-live="{}" data-status="{}">{}</span>',
        name,
        obj.pk,
        name,
        "true" if obj.is_live else "false",
        obj.status,
        RENDERERS[name](obj, user),
    )


def states(objs, user):
    """The progress endpoint's answer: per request, whether it is live and every part, rendered."""
    return {
        str(obj.pk): {
            "status": obj.status,
            "live": obj.is_live,
            "percent": obj.progress_percent,
            "fields": {name: str(renderer(obj, user)) for name, renderer in RENDERERS.items()},
        }
        for obj in objs
    }
