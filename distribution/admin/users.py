"""The user admin, where a role is given: a user put in a role's group gets staff status with it, so the
role works on its own (issue 21, point 1)."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext as _

from ..roles import user_roles_make_staff

User = get_user_model()


class RoleUserAdmin(UserAdmin):
    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)  # the groups are saved here, after the user
        if user_roles_make_staff(user=form.instance):
            self.message_user(
                request,
                _("Staff status was turned on: people in a role log in to the admin with it."),
                messages.INFO,
            )


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, RoleUserAdmin)
