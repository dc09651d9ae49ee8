"""The header's language switch (Django's `set_language`), remembered per user, not only per browser."""

from django.utils import translation
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from .models import LanguagePreference


@require_POST
def language_set(request):
    """Django's set_language (cookie, redirect to `next`), and the choice kept for the logged-in user."""
    response = set_language(request)
    language = request.POST.get("language")
    if request.user.is_authenticated and translation.check_for_language(language):
        LanguagePreference.objects.update_or_create(user=request.user, defaults={"language": language})
    return response


class UserLanguageMiddleware:
    """After authentication: a logged-in user's chosen language wins over the browser's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = self._preferred(request)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)

    @staticmethod
    def _preferred(request):
        user = getattr(request, "user", None)  # none on the Coupon API's path (site_middleware)
        if user is None or not user.is_authenticated:
            return None
        preference = LanguagePreference.objects.filter(user=request.user).values_list("language", flat=True)
        return preference.first()
