from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommonConfig(AppConfig):
    """What every app shares and that knows none of them: formats, exports, read-only records, log lines.

    An app (not a plain package) for its template filters and its system check; it has no models."""

    name = "common"
    verbose_name = _("Shared")

    def ready(self):
        from django.core import checks

        from .exports import check_export_admins

        # Every exporting admin neutralises formulas, whichever app registered it.
        checks.register(check_export_admins, checks.Tags.admin)
