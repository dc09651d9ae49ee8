"""Delivers due notifications every minute on the notifications cluster: retries with backoff."""

from django.db import migrations

FUNC = "notifications.tasks.deliver_outbox"


def add_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(
        func=FUNC,
        defaults={"name": "notifications-outbox", "schedule_type": "I", "minutes": 1, "repeats": -1,
                  "cluster": "notifications"},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=FUNC).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
