"""The admin's middleware, skipped on the Coupon API's path.

The API authenticates by key and keeps no session: the session, the logged-in user and the messages serve
the admin's pages only, yet each ran on every API call (docs/benchmarks.md). Each is wrapped where it
stands in MIDDLEWARE, so the admin's order is unchanged; on /api/ the wrapper hands the request straight on.
CSRF, frame options and django-axes stay as they are: each only looks at the request or the answer (the
API's views are CSRF-exempt), and Django's deploy checks and axes' own check want them by their own dotted
paths. What the API needs stays too: latency metrics, security headers, the host check (CommonMiddleware),
the language of its messages (LocaleMiddleware) and the NUL refusal.
"""

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware

API_PREFIX = "/api/"
# Django's handler calls these on the instance, outside __call__: a wrapped middleware must have none.
HOOKS = ("process_view", "process_exception", "process_template_response")


def is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


class SiteOnly:
    """Runs the middleware it is mixed with for every request but the Coupon API's. Each wrapper also
    subclasses the middleware it wraps, so the admin's system checks (admin.E408–E410) still find it."""

    sync_capable, async_capable = True, False  # couponops runs under WSGI; not MiddlewareMixin's both

    def __init__(self, get_response):
        self.get_response = get_response
        wrapped = next(base for base in type(self).__mro__ if base not in (type(self), SiteOnly))
        if any(hasattr(wrapped, hook) for hook in HOOKS):
            raise TypeError(f"{wrapped.__name__} has view hooks, which SiteOnly cannot skip on /api/")
        self.site = wrapped(get_response)

    def __call__(self, request):
        if is_api(request):
            return self.get_response(request)
        return self.site(request)


class Sessions(SiteOnly, SessionMiddleware):
    pass


class Authentication(SiteOnly, AuthenticationMiddleware):
    pass


class Messages(SiteOnly, MessageMiddleware):
    pass
