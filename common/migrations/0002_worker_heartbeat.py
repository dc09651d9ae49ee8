"""WorkerHeartbeat moves from couponops/ to common/ (issue 19: the apps import common/, never the project).

Only Django's idea of which app owns it changes: the table keeps its name and rows, so a running cluster's
beats are not lost across the upgrade."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("common", "0001_language_preference"),
        ("couponops", "0001_worker_heartbeat"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="WorkerHeartbeat",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("cluster", models.CharField(max_length=100, verbose_name="cluster")),
                        ("host", models.CharField(max_length=255, verbose_name="host")),
                        ("pid", models.PositiveIntegerField(verbose_name="process id")),
                        ("started_at", models.DateTimeField(verbose_name="started at")),
                        ("beat_at", models.DateTimeField(verbose_name="last heartbeat")),
                    ],
                    options={
                        "db_table": "couponops_workerheartbeat",
                        "verbose_name": "worker heartbeat",
                        "verbose_name_plural": "worker heartbeats",
                        "constraints": [
                            models.UniqueConstraint(fields=("cluster", "host"), name="one_heartbeat_per_cluster_host")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
