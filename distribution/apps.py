from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DistributionConfig(AppConfig):
    name = "distribution"
    verbose_name = _("Coupon distribution")

    def ready(self):
        from django.core import checks

        from couponops.exports import check_export_admins

        # Project-wide, registered here because couponops/ is not an app: no admin exports formulas.
        checks.register(check_export_admins, checks.Tags.admin)
