"""One django-q2 schedule that looks for due schedules every minute.

The timing itself lives in campaigns.Schedule.next_run_at: django-q2 only knocks. Its `catch_up` would
run a missed interval once per interval; a knock that finds a schedule due several times over fires it once.
"""

from django.db import migrations

FUNC = "campaigns.tasks.run_due_schedules"


def add_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(
        func=FUNC, defaults={"name": "campaigns-due-schedules", "schedule_type": "I", "minutes": 1, "repeats": -1}
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=FUNC).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_schedules"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
