from django.db import migrations


class Migration(migrations.Migration):
    """The preview's count of members who had the coupon revoked is named apart from the run's
    `reissued_count` (issue 19): one letter told them apart before."""

    dependencies = [
        ("distribution", "0016_lifecycle"),
    ]

    operations = [
        migrations.RenameField(
            model_name="distributionrequest",
            old_name="reissue_count",
            new_name="preview_reissue_count",
        ),
    ]
