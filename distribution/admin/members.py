"""Support's page for one member's coupon."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from .. import selectors, services
from ..actors import Actor
from ..lookup import parse_number
from ..models import IssuedCoupon
from .forms import MemberCouponForm


class MemberCouponView:
    """Support's page for one member's coupon (?coupon=&user_id=): its state, and revoke or restore with a reason.

    The services check the revoke permission and the row's state; this page only shows what applies."""

    template = "admin/distribution/issuedcoupon/member.html"

    def __init__(self, model_admin):
        self.model_admin = model_admin

    def view(self, request):
        if not self.model_admin.has_view_permission(request):
            raise PermissionDenied
        coupon_id, user_id = (parse_number(request.GET.get(key, "")) for key in ("coupon", "user_id"))
        row = None
        if coupon_id and user_id:
            row = (
                IssuedCoupon.objects.filter(coupon_id=coupon_id, user_id=user_id)
                .select_related("coupon", "distribution", "issue_call__client")
                .first()
            )
        form = MemberCouponForm(request.POST or None)
        if row is not None and request.method == "POST" and form.is_valid() and self._change(request, row, form):
            return HttpResponseRedirect(request.get_full_path())
        return TemplateResponse(request, self.template, self._context(request, row, form))

    def _change(self, request, row, form):
        change = {"revoke": services.issued_coupon_revoke, "restore": services.issued_coupon_restore}.get(
            request.POST.get("action")
        )
        if change is None:
            return False
        try:
            changed = change(
                coupon=row.coupon,
                user_id=row.user_id,
                actor=Actor.for_user(request.user),
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return False
        self.model_admin.message_user(
            request,
            *(
                (self._done(row), messages.SUCCESS)
                if changed
                else (_("Nothing changed: the coupon is no longer in the state this page showed."), messages.WARNING)
            ),
        )
        return True

    @staticmethod
    def _done(row):
        if row.distribution_id is None:  # issued by a Coupon API call: no request's history to point to
            return _("Done: the change is in this coupon's support history below.")
        return _("Done: the change is in the history of request #%(pk)s.") % {"pk": row.distribution_id}

    def _context(self, request, row, form):
        state = row.state() if row is not None else None
        return {
            **self.model_admin.admin_site.each_context(request),
            "title": _("One member's coupon"),
            "opts": IssuedCoupon._meta,
            "row": row,
            "state": state,
            "form": form,
            "can_change": request.user.has_perm("distribution.revoke_distributionrequest"),
            "may_revoke": row is not None and row.used_at is None and row.deleted_at is None,
            "may_restore": row is not None and row.used_at is None and row.deleted_at is not None,
            "history": selectors.member_transitions(coupon_id=row.coupon_id, user_id=row.user_id) if row else [],
        }
