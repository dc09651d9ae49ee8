"""The page a locked-out login gets (django-axes' AXES_LOCKOUT_CALLABLE): the admin's look, translated."""

from django.conf import settings
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _


def locked_out(request, original_response=None, credentials=None):
    context = {
        **admin.site.each_context(request),
        "title": _("Login blocked"),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    # 429 Too Many Requests, as django-axes answers by default.
    return TemplateResponse(request, "admin/locked_out.html", context, status=429).render()
