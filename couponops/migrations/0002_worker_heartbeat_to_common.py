"""The other half of common 0002: couponops/ lets go of WorkerHeartbeat's state; the table stays."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("couponops", "0001_worker_heartbeat"),
        ("common", "0002_worker_heartbeat"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="WorkerHeartbeat")]),
    ]
