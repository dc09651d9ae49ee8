from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

admin.site.site_header = _("couponops")
admin.site.site_title = _("couponops")
admin.site.index_title = _("Coupon distribution")

urlpatterns = [
    path("admin/", admin.site.urls),
    # The Coupon API (api/): key-authenticated JSON, no session or CSRF.
    path("api/", include("api.urls")),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
