"""Strings of other packages that their Korean catalogues lack (django-import-export's "Row") or say
awkwardly (Django's "사용자 이름 와 비밀번호", "코드은/는"), named here so that `make messages` keeps our
translations of them, which win over theirs (LOCALE_PATHS comes first)."""

from django.utils.translation import gettext_noop, ngettext_lazy

STRINGS = [
    gettext_noop("Row"),
    gettext_noop(
        "Please enter the correct %(username)s and password for a staff account. Note that both fields may be "
        "case-sensitive."
    ),
    gettext_noop("%(model_name)s with this %(field_label)s already exists."),
    ngettext_lazy("%(count)s %(name)s was changed successfully.", "%(count)s %(name)s were changed successfully.", 1),
]
