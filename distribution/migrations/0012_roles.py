from django.contrib.auth.management import create_permissions
from django.db import migrations


def apply_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    labels = ("auth", "distribution", "notifications")
    for label in labels:
        app_config = apps.get_app_config(label)
        app_config.models_module = True  # a migration's app stub lacks it; create_permissions skips without
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    from distribution.roles import roles_apply

    roles_apply(apps, labels=labels)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("distribution", "0011_api_provenance"),
        ("notifications", "0006_distribution_and_events"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
