"""django-q2's task tables and django-axes' login attempts, registered again for superusers only."""

from django.apps import apps
from django.contrib import admin


class SuperusersOnly:
    """The engineers' tables: hidden from everyone else."""

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request, *args):
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


# The worker's task tables (django-q2) and the login attempts (django-axes, in UTC and English words):
# the engineers' tools, not the marketers'.
for _model in [*apps.get_app_config("django_q").get_models(), *apps.get_app_config("axes").get_models()]:
    if admin.site.is_registered(_model):
        _class = type(admin.site.get_model_admin(_model))
        admin.site.unregister(_model)
        admin.site.register(_model, type(_class.__name__, (SuperusersOnly, _class), {}))
