"""Marketers manage schedules, managers read them: the roles (distribution/roles.py) applied again now that the
schedule permissions exist."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def apply_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now (as distribution's 0012).
    for label in ("auth", "distribution", "notifications", "campaigns"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True  # a migration's app stub lacks it; create_permissions skips without
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    from distribution.roles import roles_apply

    roles_apply(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0002_due_schedules_tick"),
        ("distribution", "0020_worker_retries"),
        ("notifications", "0006_distribution_and_events"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
