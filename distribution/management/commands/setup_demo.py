import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from distribution import services
from distribution.actors import Actor
from distribution.models import Coupon, DistributionRequest

DEMO_MEMO = "Demo: welcome coupon for every member"


class Command(BaseCommand):
    help = (
        "Creates the demo admin login and coupon, queues the demo distribution, and writes the login to "
        "var/demo-login.txt (which `make demo` prints once the server is up)."
    )

    def handle(self, *args, **options):
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        user = self._admin(self._password())
        coupon, _ = Coupon.objects.get_or_create(
            code="WELCOME10",
            defaults={"name": "Welcome 10%", "discount_kind": "percent", "discount_amount": 10, "valid_days": 30},
        )
        self.stdout.write(self._demo_request(coupon, user))
        login = self._login_box(user.username, self._password())
        (settings.VAR_DIR / "demo-login.txt").write_text(login)
        self.stdout.write(login)

    def _demo_request(self, coupon, user):
        """Queues the demo distribution once: a later run reuses it (resumed if it was stopped) and says so."""
        earlier = DistributionRequest.objects.filter(memo=DEMO_MEMO, coupon=coupon).order_by("pk").last()
        if earlier is not None:
            return f"  Request #{earlier.pk} ({earlier.get_status_display()}): {self._outcome(earlier)}"
        distribution = DistributionRequest(
            coupon=coupon, source="demo", table="demo.main.members", column="member_id", memo=DEMO_MEMO
        )
        services.distribution_submit(distribution=distribution, actor=Actor.command_line(user))
        # "awaiting approval" when DISTRIBUTION_APPROVAL_COUPONS asks a manager for an audience this large.
        return (
            f"  Request #{distribution.pk} ({distribution.get_status_display()}): "
            f"{distribution.target_count:,} coupons from {distribution.table}"
        )

    def _outcome(self, distribution):
        if distribution.is_live:
            return f"{distribution.read_count:,} of {distribution.target_count or 0:,} done; it goes on from there"
        if distribution.status == DistributionRequest.Status.SUCCEEDED:
            return f"already issued ({distribution.issued_count:,} coupons), nothing queued"
        return "nothing queued (see the request in the admin)"

    def _password(self):
        """The demo password stays the same across runs (so open tabs stay logged in): kept in var/."""
        saved = settings.VAR_DIR / "demo-password"
        if os.environ.get("DEMO_PASSWORD"):
            return os.environ["DEMO_PASSWORD"]
        if not saved.exists():
            saved.touch(mode=0o600)
            saved.write_text(secrets.token_urlsafe(9))
        return saved.read_text().strip()

    def _admin(self, password):
        user, created = get_user_model().objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"}
        )
        if created or not user.check_password(password):
            user.set_password(password)
            user.save()
        return user

    def _login_box(self, username, password):
        lines = [
            "couponops demo",
            "",
            "Open      http://127.0.0.1:8000/admin/",
            f"Login     {username}",
            f"Password  {password}",
            "",
            "Same password next time. Ctrl-C stops.",
        ]
        width = max(map(len, lines)) + 4
        body = "\n".join(f"  ║  {line.ljust(width - 4)}  ║" for line in lines)
        return self.style.SUCCESS(f"\n  ╔{'═' * width}╗\n{body}\n  ╚{'═' * width}╝\n") + "\n"
