from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from api import services
from api.models import ApiClient


class Command(BaseCommand):
    help = "Creates a Coupon API client and prints its key (shown this once; only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="who calls: a storefront, a CRM, another couponops")
        parser.add_argument(
            "--scopes", required=True, help=f"comma-separated, from: {', '.join(ApiClient.Scope.values)}"
        )

    def handle(self, *args, name, scopes, **options):
        wanted = [scope.strip() for scope in scopes.split(",") if scope.strip()]
        unknown = sorted(set(wanted) - set(ApiClient.Scope.values))
        if unknown or not wanted:
            raise CommandError(
                f"unknown or no scopes: {', '.join(unknown) or '(none)'}; "
                f"choose from {', '.join(ApiClient.Scope.values)}"
            )
        try:
            client, key = services.api_client_create(name=name, scopes=wanted)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stderr.write(
            f"API client “{client.name}” created with scopes {', '.join(client.scopes)}. Its key, shown this once:"
        )
        self.stdout.write(key)
