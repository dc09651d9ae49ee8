"""A request whose address carries a NUL character is refused before any view runs.

PostgreSQL text cannot hold NUL: psycopg2 raises ValueError for such a parameter, so `?status=%00` on a
list page, or a coupon code `%00` in an API path, ended on a 500 page wherever the value reached a query.
Refusing it here covers every filter, search and path parameter at once. Bodies are left to the forms
and schemas that read them (Django's form fields already refuse NUL; the API's schemas do too).
"""

from django.contrib import admin
from django.shortcuts import render
from django.utils.translation import gettext as _

from api.errors import error_response

NUL = "\x00"
# Where couponops/urls.py mounts the Coupon API: its clients get the API's JSON error shape.
API_PREFIX = "/api/"


class RefuseNulCharactersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if address_carries_nul(request):
            return refusal(request)
        return self.get_response(request)


def address_carries_nul(request) -> bool:
    return NUL in request.path or any(
        NUL in key or any(NUL in value for value in values) for key, values in request.GET.lists()
    )


def refusal(request):
    message = _("The address contains a NUL character, which nothing here accepts. Nothing was changed.")
    if request.path.startswith(API_PREFIX):
        return error_response(400, "invalid_request", message)
    context = {**admin.site.each_context(request), "title": _("Bad request"), "message": message}
    return render(request, "admin/couponops/bad_request.html", context, status=400)
