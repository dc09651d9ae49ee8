"""django-axes' hooks: the page a locked-out login gets, the address a login comes from, the name it tried,
and the login form that says how many tries are left."""

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def locked_out(request, original_response=None, credentials=None):
    context = {
        **admin.site.each_context(request),
        "title": _("Login blocked"),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    # 429 Too Many Requests, as django-axes answers by default.
    return TemplateResponse(request, "admin/locked_out.html", context, status=429).render()


def client_address(request):
    """REMOTE_ADDR, or behind N trusted proxies the address the outermost one appended to X-Forwarded-For.

    Entries left of that one are whatever the client sent, so they are never trusted.
    """
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if count and len(forwarded) >= count:
        return forwarded[-count]
    return request.META.get("REMOTE_ADDR")


# django-axes' username columns (AccessAttempt, AccessLog, AccessFailureLog) are varchar(255).
USERNAME_COLUMN = 255


def login_username(request, credentials=None):
    """The username a login tried, as django-axes records and counts it: cut to its column. A longer one
    (no account has one: Django's names are at most 150) failed the insert and the login page with a 500."""
    username = credentials.get("username") if credentials else getattr(request, "POST", {}).get("username")
    return username[:USERNAME_COLUMN] if isinstance(username, str) else username


# The failure from which the login form says how many tries are left before the lockout.
WARN_FROM_FAILURE = 3


def tries_left(request, username):
    """How many more failures (this username from this address) django-axes allows before it locks."""
    AxesProxyHandler.update_request(request)
    failures = AxesProxyHandler.get_failures(request, {"username": login_username(request, {"username": username})})
    return failures, max(0, settings.AXES_FAILURE_LIMIT - failures)


class LoginForm(AdminAuthenticationForm):
    """The admin's login form, which warns from the third failure how many tries are left."""

    def clean(self):
        try:
            return super().clean()
        except ValidationError as error:
            failures, left = tries_left(self.request, self.cleaned_data.get("username"))
            if failures < WARN_FROM_FAILURE or not left:
                raise
            warning = ngettext(
                "%(left)d try is left before logging in is blocked for %(minutes)d minutes.",
                "%(left)d tries are left before logging in is blocked for %(minutes)d minutes.",
                left,
            ) % {"left": left, "minutes": settings.AXES_COOLOFF_TIME.total_seconds() // 60}
            raise ValidationError([*error.error_list, ValidationError(warning, code="tries_left")]) from None
