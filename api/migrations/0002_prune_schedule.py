"""Prunes idempotency keys older than a day, once a day: on the notifications cluster, whose tasks are short,
not behind a distribution that may run for minutes."""

from django.db import migrations

FUNC = "api.tasks.prune_idempotency_keys"


def add_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.get_or_create(
        func=FUNC,
        defaults={"name": "api-prune-idempotency-keys", "schedule_type": "D", "repeats": -1, "cluster": "notifications"},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=FUNC).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_coupon_api"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
