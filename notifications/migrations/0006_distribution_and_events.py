import django.db.models.deletion
from django.db import migrations, models

import distribution.signals


class Migration(migrations.Migration):
    """`request` → `distribution` in Django's state only (the column stays `request_id`); the event
    choices come from distribution.signals.Event through a callable, so a new event needs no migration."""

    dependencies = [
        ("distribution", "0009_transitions_and_names"),
        ("notifications", "0005_approval_needed_event"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.RenameField("notification", "request", "distribution"),
            migrations.AlterField(
                model_name="notification", name="distribution",
                field=models.ForeignKey(db_column="request_id", on_delete=django.db.models.deletion.PROTECT,
                                        related_name="notifications", to="distribution.distributionrequest",
                                        verbose_name="distribution request"),
            ),
        ]),
        migrations.AlterField(
            model_name="notification", name="event",
            field=models.CharField(choices=distribution.signals.event_choices, max_length=20, verbose_name="event"),
        ),
    ]
