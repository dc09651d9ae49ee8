import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from distribution import services
from distribution.actors import Actor
from distribution.models import Coupon, DistributionRequest


class Command(BaseCommand):
    help = "Creates the demo admin login and coupon, and queues the demo distribution."

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(9)
        user = self._admin(password)
        coupon, _ = Coupon.objects.get_or_create(
            code="WELCOME10",
            defaults={"name": "Welcome 10%", "discount_kind": "percent", "discount_amount": 10, "valid_days": 30},
        )
        distribution = DistributionRequest(coupon=coupon, source="demo", table="demo.main.members",
                                           column="member_id", memo="Demo: welcome coupon for every member")
        services.distribution_submit(distribution=distribution, actor=Actor.command_line(user))
        self.stdout.write(self.style.SUCCESS(
            f"\n  Admin login:  user {user.username}   password {password}\n"
            f"  Queued request #{distribution.pk}: {distribution.target_count:,} coupons from {distribution.table}\n"
        ))

    def _admin(self, password):
        user, _ = get_user_model().objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"}
        )
        user.set_password(password)
        user.save()
        return user
