"""The request list's actions, each behind a confirmation page (issue 19, defect 4).

As Django's own "delete selected": choosing an action shows which requests it changes and which it
leaves alone (and why), with counts; only the page's own "Yes" acts. The services still decide
whether each move may happen, so a request that changed meanwhile is simply counted as unchanged."""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import lifecycle, services
from ..actors import Actor
from ..lifecycle import Move
from ..models import DistributionRequest

Status = DistributionRequest.Status
SHOWN = 200  # rows listed on the page; beyond them only the counts


@dataclass(frozen=True)
class ListAction:
    name: str
    move: str  # the lifecycle move it makes (distribution/lifecycle.py)
    title: str  # the page's heading
    changes: str  # the lead of the list of requests that change
    button: str  # the "Yes" button
    not_now: str  # why a request in another status does not change
    perform: Callable  # (distribution, actor) -> bool
    done: Callable  # count -> the message after acting
    warns: Callable = lambda distribution, user: ""  # what the reader should know about one that changes

    def refusal(self, distribution, user):
        """Why this request does not change, in the lifecycle table's words; None if it does."""
        if not lifecycle.status_allows(distribution=distribution, action=self.move):
            return self.not_now
        return lifecycle.who_refusal(distribution=distribution, action=self.move, actor=Actor.for_user(user))


def _cancel_warning(distribution, user):
    warnings = []
    if distribution.status == Status.RUNNING:
        warnings.append(_("It is running: it stops within one chunk, and what it issued stays issued."))
    if distribution.requested_by_id not in (None, user.pk):
        warnings.append(
            _("%(name)s requested it and will be told in Slack that you cancelled it.")
            % {"name": distribution.requested_by.get_username()}
        )
    return " ".join(str(w) for w in warnings)


def _approve(distribution, actor):
    try:
        return services.distribution_approve(distribution=distribution, actor=actor)
    except (PermissionDenied, ValidationError):
        return False


ACTIONS = {
    action.name: action
    for action in (
        ListAction(
            name="retry",
            title=_("Retry requests"),
            changes=_("These requests will be queued again and resume from where they stopped:"),
            button=_("Yes, retry them"),
            move=Move.RETRIED,
            not_now=_("only a failed request is retried"),
            perform=lambda d, actor: services.distribution_retry(distribution=d, actor=actor),
            done=lambda n: ngettext("%(count)d request was queued again.", "%(count)d requests were queued again.", n),
        ),
        ListAction(
            name="approve",
            title=_("Approve requests"),
            changes=_("These requests will be approved and queued; their coupons are then issued:"),
            button=_("Yes, approve them"),
            move=Move.APPROVED,
            not_now=_("it is not awaiting approval"),
            perform=_approve,
            done=lambda n: ngettext(
                "%(count)d request was approved and queued.", "%(count)d requests were approved and queued.", n
            ),
        ),
        ListAction(
            name="cancel",
            title=_("Cancel requests"),
            changes=_("These requests will be cancelled:"),
            button=_("Yes, cancel them"),
            move=Move.CANCELLED,
            not_now=_("only a request awaiting approval, queued or running is cancelled"),
            perform=lambda d, actor: services.distribution_cancel(distribution=d, actor=actor),
            done=lambda n: ngettext("%(count)d request was cancelled.", "%(count)d requests were cancelled.", n),
            warns=_cancel_warning,
        ),
    )
}


class ListActions:
    """Mixed into the request admin: the list's actions, which first ask."""

    @admin.action(description=_("Retry the selected failed requests from where they stopped"), permissions=["change"])
    def retry(self, request, queryset):
        return self._confirm_then_act(request, queryset, ACTIONS["retry"])

    @admin.action(description=_("Approve the selected requests awaiting approval"), permissions=["approve"])
    def approve(self, request, queryset):
        return self._confirm_then_act(request, queryset, ACTIONS["approve"])

    @admin.action(
        description=_("Cancel the selected requests (awaiting approval, queued or running)"), permissions=["cancel"]
    )
    def cancel(self, request, queryset):
        return self._confirm_then_act(request, queryset, ACTIONS["cancel"])

    def _confirm_then_act(self, request, queryset, action):
        distributions = list(queryset.select_related("coupon", "requested_by").order_by("pk"))
        changing = [d for d in distributions if action.refusal(d, request.user) is None]
        if request.POST.get("post") == "yes":
            actor = Actor.for_user(request.user)
            done = sum(bool(action.perform(d, actor)) for d in changing)
            self.message_user(request, action.done(done) % {"count": done}, messages.SUCCESS)
            return None  # back to the list, as Django's own actions
        return TemplateResponse(
            request,
            "admin/distribution/distributionrequest/action_confirmation.html",
            self._confirmation_context(request, distributions, changing, action),
        )

    def _confirmation_context(self, request, distributions, changing, action):
        unchanged = [(d, action.refusal(d, request.user)) for d in distributions if d not in changing]
        return {
            **self.admin_site.each_context(request),
            "title": action.title,
            "opts": self.opts,
            "action": action,
            "changing": [(d, action.warns(d, request.user)) for d in changing[:SHOWN]],
            "changing_count": len(changing),
            "changing_more": max(0, len(changing) - SHOWN),
            "unchanged": unchanged[:SHOWN],
            "unchanged_count": len(unchanged),
            "unchanged_more": max(0, len(unchanged) - SHOWN),
            "selected": [d.pk for d in distributions],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
