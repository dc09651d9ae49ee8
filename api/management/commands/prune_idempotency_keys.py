from django.core.management.base import BaseCommand

from api import services


class Command(BaseCommand):
    help = "Deletes Coupon API idempotency keys older than API_IDEMPOTENCY_KEEP_HOURS (a daily schedule does too)."

    def handle(self, *args, **options):
        self.stdout.write(f"{services.idempotency_keys_prune():,} idempotency keys pruned")
