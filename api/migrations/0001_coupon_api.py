"""The Coupon API: clients and their keys, idempotency keys, and the record of every issue call."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('distribution', '0010_transitions_status'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiClient',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100, unique=True, verbose_name='name')),
                ('scopes', models.JSONField(default=list, verbose_name='scopes')),
                ('key_prefix', models.CharField(editable=False, max_length=16, unique=True, verbose_name='key prefix')),
                ('key_hash', models.CharField(editable=False, max_length=64, verbose_name='key hash')),
                ('is_active', models.BooleanField(default=True, verbose_name='active')),
                ('revoked_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='revoked at')),
                ('last_used_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='last used at')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                ('created_by', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by')),
            ],
            options={
                'verbose_name': 'API client',
                'verbose_name_plural': 'API clients',
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='IssueCall',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('idempotency_key', models.CharField(max_length=255, verbose_name='idempotency key')),
                ('issued_count', models.PositiveIntegerField(default=0, verbose_name='issued')),
                ('reissued_count', models.PositiveIntegerField(default=0, verbose_name='reissued')),
                ('already_held_count', models.PositiveIntegerField(default=0, verbose_name='already held')),
                ('invalid_count', models.PositiveIntegerField(default=0, verbose_name='invalid ids')),
                ('at', models.DateTimeField(verbose_name='at')),
                ('client', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='issue_calls', to='api.apiclient', verbose_name='API client')),
                ('coupon', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='issue_calls', to='distribution.coupon', verbose_name='coupon')),
            ],
            options={
                'verbose_name': 'API issue call',
                'verbose_name_plural': 'API issue calls',
                'ordering': ['-at', '-pk'],
            },
        ),
        migrations.CreateModel(
            name='IdempotencyKey',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=255, verbose_name='idempotency key')),
                ('fingerprint', models.CharField(max_length=64, verbose_name='request fingerprint')),
                ('state', models.CharField(choices=[('in_progress', 'In progress'), ('done', 'Done')], default='in_progress', max_length=16, verbose_name='state')),
                ('attempts', models.PositiveIntegerField(default=1, verbose_name='attempts')),
                ('response_status', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='answer status')),
                ('response_body', models.JSONField(blank=True, null=True, verbose_name='answer')),
                ('claimed_at', models.DateTimeField(verbose_name='claimed at')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                ('client', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='api.apiclient', verbose_name='API client')),
            ],
            options={
                'verbose_name': 'idempotency key',
                'verbose_name_plural': 'idempotency keys',
                'indexes': [models.Index(fields=['created_at'], name='idempotency_key_age_idx')],
                'constraints': [models.UniqueConstraint(fields=('client', 'key'), name='one_idempotency_key_per_client')],
            },
        ),
    ]
