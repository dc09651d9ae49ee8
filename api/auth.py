"""`Authorization: Bearer <key>`, one scope per operation."""

from django.conf import settings
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from . import selectors, services
from .errors import ApiError


class ApiKey(HttpBearer):
    def __init__(self, scope: str):
        super().__init__()
        self.scope = scope

    def __call__(self, request):
        # Checked first, before anything reads the body: a body over the limit is never read at all.
        refuse_unmeasured_body(request)
        refuse_large_body(request)
        return super().__call__(request)

    def authenticate(self, request, token):
        client = selectors.api_client_for_key(token)
        if client is None:
            return None  # ninja answers 401
        if not client.is_active:
            raise ApiError(401, "key_revoked", _("This API key was revoked."))
        if not client.may(self.scope):
            raise ApiError(
                403,
                "missing_scope",
                _("This API key lacks the “%(scope)s” scope.") % {"scope": self.scope},
                scope=self.scope,
            )
        services.api_client_touch(client=client)
        return client


def refuse_unmeasured_body(request):
    # Django reads exactly Content-Length bytes of a WSGI body: a chunked one would be read as empty and
    # refused as "body required", which says nothing about the real cause.
    if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        raise ApiError(
            411,
            "length_required",
            _("Send the body with a Content-Length header; chunked request bodies are not read."),
        )


def refuse_large_body(request):
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.API_MAX_BODY_BYTES:
        raise ApiError(
            413,
            "body_too_large",
            _("The request body is larger than %(limit)s bytes.") % {"limit": f"{settings.API_MAX_BODY_BYTES:,}"},
        )
