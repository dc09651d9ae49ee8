from functools import wraps

from django.urls import path, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from .errors import error_response
from .views import api, unknown_path


def json_method_not_allowed(view):
    """ninja answers a wrong method with a plain-text 405: give it the API's error shape too."""

    @wraps(view)  # keeps csrf_exempt
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code != 405:
            return response
        answer = error_response(
            405, "method_not_allowed", _("This endpoint does not answer %(method)s.") % {"method": request.method}
        )
        answer["Allow"] = response["Allow"]
        return answer

    return wrapped


# (Not named app_name: include() would read that as this module's own namespace.)
v1_patterns, v1_app, v1_namespace = api.urls
for pattern in v1_patterns:
    pattern.callback = json_method_not_allowed(pattern.callback)

urlpatterns = [
    path("v1/", (v1_patterns, v1_app, v1_namespace)),
    # Any other address under /api/, whatever the method: no session, so no CSRF check (a POST got an HTML 403).
    re_path(r"^(?P<rest>.*)$", csrf_exempt(unknown_path)),
]
