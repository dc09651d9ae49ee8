from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from common.languages import language_set

from .health import healthz
from .lockout import LoginForm
from .metrics import metrics_view
from .overview import overview_view

admin.site.site_header = _("couponops")
admin.site.site_title = _("couponops")
admin.site.index_title = _("Coupon distribution")
admin.site.login_form = LoginForm

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    # An admin page of its own, before admin.site.urls so that the admin's catch-all does not take it.
    path("admin/overview/", admin.site.admin_view(overview_view), name="couponops_overview"),
    path("admin/language/", language_set, name="language_set"),
    path("admin/", admin.site.urls),
    # The Coupon API (api/): key-authenticated JSON, no session or CSRF.
    path("api/", include("api.urls")),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    # Browsers ask every page for it; without one each page logs a 404.
    path("favicon.ico", lambda request: HttpResponsePermanentRedirect(static("distribution/favicon.svg"))),
]
