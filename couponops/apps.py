from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CouponopsConfig(AppConfig):
    """Project-wide operations: worker heartbeats, metrics, health, logs and the managers' overview."""

    name = "couponops"
    verbose_name = _("Operations")
