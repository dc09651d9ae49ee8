from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

admin.site.site_header = _("couponops")
admin.site.site_title = _("couponops")
admin.site.index_title = _("Coupon distribution")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    # Browsers ask every page for it; without one each page logs a 404.
    path("favicon.ico", lambda request: HttpResponsePermanentRedirect(static("distribution/favicon.svg"))),
]
