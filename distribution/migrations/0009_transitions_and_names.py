import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """A DistributionRequest is called `distribution` everywhere; the bulk table keeps its column name
    (`request_id`), so the rename touches Django's state only. Plus the audit trail of transitions
    and the `discarded` status."""

    dependencies = [
        ("distribution", "0008_revoking_status"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.RenameField("issuedcoupon", "request", "distribution"),
            migrations.AlterField(
                model_name="issuedcoupon", name="distribution",
                field=models.ForeignKey(db_column="request_id", db_constraint=False, db_index=False,
                                        on_delete=django.db.models.deletion.DO_NOTHING,
                                        to="distribution.distributionrequest"),
            ),
        ]),
        migrations.AlterField(
            model_name="distributionrequest", name="coupon",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="distributions",
                                    to="distribution.coupon", verbose_name="coupon"),
        ),
    ]
