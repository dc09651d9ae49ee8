"""The request page's Pause and Resume: a confirmation page each, then the service (distribution/services/throttling.py).

Kept apart from the request admin, which only adds `urls()` to its own: the pages need nothing of it but its
`get_object`, `admin_site` and `message_user`.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _

from ..actors import Actor
from ..services.throttling import distribution_pause, distribution_resume

ACTIONS = {
    "pause": (
        distribution_pause,
        lambda: _("Paused: the run stops after its current chunk and waits, keeping its place, until resumed."),
        lambda: _("Only a running request that is not paused already can be paused."),
    ),
    "resume": (
        distribution_resume,
        lambda: _("Resumed: the run goes on from where it stopped."),
        lambda: _("This request is not paused."),
    ),
}


def urls(model_admin):
    view = model_admin.admin_site.admin_view
    return [
        path(
            f"<path:object_id>/{action}/",
            view(lambda request, object_id, action=action: pause_view(model_admin, request, object_id, action)),
            name=f"distribution_distributionrequest_{action}",
        )
        for action in ACTIONS
    ]


def pause_view(model_admin, request, object_id, action):
    if not request.user.has_perm("distribution.cancel_distributionrequest"):
        raise PermissionDenied
    obj = model_admin.get_object(request, object_id)
    if obj is None:
        return model_admin._get_obj_does_not_exist_redirect(request, model_admin.opts, object_id)
    change_url = reverse("admin:distribution_distributionrequest_change", args=[obj.pk])
    service, done, refused = ACTIONS[action]
    if request.method == "POST":
        if service(distribution=obj, actor=Actor.for_user(request.user)):
            model_admin.message_user(request, done(), messages.SUCCESS)
        else:
            model_admin.message_user(request, refused(), messages.ERROR)
        return HttpResponseRedirect(change_url)
    titles = {"pause": _("Pause request #%(pk)s"), "resume": _("Resume request #%(pk)s")}
    context = {
        **model_admin.admin_site.each_context(request),
        "title": titles[action] % {"pk": obj.pk},
        "opts": model_admin.opts,
        "original": obj,
        "action": action,
        "change_url": change_url,
    }
    return TemplateResponse(request, "admin/distribution/distributionrequest/pause.html", context)
