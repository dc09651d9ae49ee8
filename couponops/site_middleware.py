"""The admin's middleware, skipped on the Coupon API's path.

The API authenticates by key and keeps no session: the session, the logged-in user and the messages
serve the admin's pages only, yet each ran on every API call (docs/benchmarks.md). CSRF, frame options
and django-axes stay as they are: each only looks at the request or answer (the API's views are
CSRF-exempt), and Django's deploy checks and axes' own check want them under their own dotted paths. Each is wrapped where it stands in
MIDDLEWARE, so the admin's order is unchanged; on /api/ the wrapper hands the request straight on.
What the API does need stays unwrapped: latency metrics, security headers, the host check
(CommonMiddleware), the language of its messages (LocaleMiddleware) and the NUL refusal.
"""

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware

API_PREFIX = "/api/"
HOOKS = ("process_view", "process_exception", "process_template_response")


def is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


class SiteOnly:
    """Runs the middleware it is mixed with for every request but the Coupon API's. Each wrapper also
    subclasses the middleware it wraps, so the admin's and axes' system checks still find it."""

    def __init__(self, get_response):
        self.get_response = get_response
        wrapped = next(base for base in type(self).__mro__ if base not in (type(self), SiteOnly))
        self.site = wrapped(get_response)
        for hook in HOOKS:  # Django's handler collects these from the instance
            if hasattr(self.site, hook):
                setattr(self, hook, site_only_hook(getattr(self.site, hook)))

    def __call__(self, request):
        if is_api(request):
            return self.get_response(request)
        return self.site(request)


def site_only_hook(hook):
    def run(request, *args):
        return None if is_api(request) else hook(request, *args)

    return run


class Sessions(SiteOnly, SessionMiddleware):
    pass


class Authentication(SiteOnly, AuthenticationMiddleware):
    pass


class Messages(SiteOnly, MessageMiddleware):
    pass
