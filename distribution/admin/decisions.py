"""The request's decisions in the admin: the change page's buttons (confirm, approve, reject, discard,
preview again, revoke). Each asks a service, which checks who may."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from .. import live, selectors, services
from ..actors import Actor
from ..models import DistributionRequest
from .forms import RejectForm

Status = DistributionRequest.Status


class DecisionViews:
    """Mixed into the request admin: the views behind the request page's buttons."""

    def _transition_view(self, request, object_id, transition):
        """POST-only endpoint for a button on the change page. The service checks who may do it (the
        button is only hidden from others); a refusal is a 403 here."""
        obj = self.get_object(request, object_id)
        if obj is None:
            # Django's own change_view answers a missing object this way (a private helper, pinned Django 5.2).
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if request.method == "POST":
            try:
                transition(request, obj, Actor.for_user(request.user))
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
        return HttpResponseRedirect(self._url("change", obj.pk))

    def confirm_view(self, request, object_id):
        return self._transition_view(request, object_id, self._confirm)

    def _confirm(self, request, obj, actor):
        status = services.distribution_confirm(distribution=obj, actor=actor)
        starts = obj.starts_later()
        queued = (
            _("Confirmed and queued; it starts at %(time)s.") % {"time": live.start_time(starts)}
            if starts
            else _("Confirmed and queued; the worker will start it in turn.")
        )
        self.message_user(
            request,
            *{
                None: (_("This request was already confirmed; nothing changed."), messages.INFO),
                Status.QUEUED: (queued, messages.SUCCESS),
                Status.AWAITING_APPROVAL: (
                    _("Confirmed. It is large, so it waits for another user's approval."),
                    messages.WARNING,
                ),
            }[status],
        )

    def approve_view(self, request, object_id):
        return self._transition_view(request, object_id, self._approve_one)

    def _approve_one(self, request, obj, actor):
        if services.distribution_approve(distribution=obj, actor=actor):
            self.message_user(request, _("Approved and queued."), messages.SUCCESS)
        else:
            self.message_user(request, _("This request is not awaiting approval; nothing changed."), messages.INFO)

    def reject_view(self, request, object_id):
        return self._transition_view(request, object_id, self._reject)

    def _reject(self, request, obj, actor):
        form = RejectForm(request.POST)  # a form field: stripped, and a NUL character refused (jsonb cannot hold it)
        if not form.is_valid():
            self.message_user(
                request,
                _("Say why you reject the request: the requester reads it.")
                if form.has_error("reason", "required")
                else " ".join(form.errors["reason"]),
                messages.ERROR,
            )
        elif services.distribution_reject(distribution=obj, actor=actor, reason=form.cleaned_data["reason"]):
            self.message_user(
                request, _("Rejected; the requester can read why in the request's history."), messages.SUCCESS
            )
        else:
            self.message_user(request, _("This request is not awaiting approval; nothing changed."), messages.INFO)

    def discard_view(self, request, object_id):
        return self._transition_view(request, object_id, self._discard)

    def _discard(self, request, obj, actor):
        if services.distribution_discard(distribution=obj, actor=actor):
            self.message_user(request, _("The draft was discarded."), messages.SUCCESS)
        else:
            self.message_user(request, _("This request is no longer a draft; nothing changed."), messages.INFO)

    def preview_again_view(self, request, object_id):
        return self._transition_view(request, object_id, self._preview_again)

    def _preview_again(self, request, obj, actor):
        if services.distribution_preview_again(distribution=obj, actor=actor):
            self.message_user(
                request,
                _("Previewed again from the table as it is now. Check the new preview, then confirm."),
                messages.WARNING,
            )
        else:
            self.message_user(
                request, _("This request was not stopped by a changed audience; nothing changed."), messages.INFO
            )

    def revoke_view(self, request, object_id):
        """Revoking takes a confirmation page: how many coupons go, how many are already used."""
        if not self.has_revoke_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, object_id)
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        change_url = self._url("change", obj.pk)
        if request.method == "POST":
            if services.distribution_revoke(distribution=obj, actor=Actor.for_user(request.user)):
                self.message_user(
                    request,
                    _(
                        "Revoking has started: the unused coupons are taken back in the "
                        "background, and the request shows “Revoked” with the count when it "
                        "is done."
                    ),
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request,
                    _("Only a succeeded or cancelled request that issued coupons can be revoked."),
                    messages.ERROR,
                )
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Revoke the coupons of request #%(pk)s") % {"pk": obj.pk},
            "opts": self.opts,
            "original": obj,
            "change_url": change_url,
            "preview": selectors.distribution_revoke_preview(distribution=obj) if obj.is_revocable else None,
        }
        return TemplateResponse(request, "admin/distribution/distributionrequest/revoke.html", context)
