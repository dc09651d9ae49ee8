"""Provenance of coupons issued and redeemed through the Coupon API. Adding nullable columns without a
default, and dropping NOT NULL, change only the catalogue: the bulk table is not rewritten."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('api', '0001_coupon_api'),
        ('distribution', '0010_transitions_status'),
    ]

    operations = [
        migrations.AddField(
            model_name='issuedcoupon',
            name='issue_call',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='api.issuecall'),
        ),
        migrations.AddField(
            model_name='issuedcoupon',
            name='order_id',
            field=models.CharField(blank=True, max_length=100, null=True, verbose_name='order id'),
        ),
        migrations.AddField(
            model_name='issuedcoupon',
            name='redeemed_by',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='api.apiclient', verbose_name='redeemed by'),
        ),
        migrations.AlterField(
            model_name='issuedcoupon',
            name='distribution',
            field=models.ForeignKey(blank=True, db_column='request_id', db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, to='distribution.distributionrequest'),
        ),
    ]
