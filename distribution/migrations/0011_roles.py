from django.contrib.auth.management import create_permissions
from django.db import migrations


def apply_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    for label in ("auth", "distribution", "notifications"):
        create_permissions(apps.get_app_config(label), apps=apps, verbosity=0)
    from distribution.roles import roles_apply

    roles_apply(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("distribution", "0010_transitions_status"),
        ("notifications", "0006_distribution_and_events"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
