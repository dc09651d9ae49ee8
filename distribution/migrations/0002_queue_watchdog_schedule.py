"""A schedule that looks at the queue every minute.

Submitting a request already wakes the worker; the schedule is what picks up a request whose
worker died (no heartbeat) or whose wake-up task was lost, without anyone submitting again.
"""

from django.db import migrations

FUNC = "distribution.tasks.run_queue"


def add_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(
        func=FUNC, defaults={"name": "distribution-queue-watchdog", "schedule_type": "I", "minutes": 1, "repeats": -1}
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=FUNC).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("distribution", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
