from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from distribution.roles import ROLES, user_role_grant


class Command(BaseCommand):
    help = "Puts a user in a role (marketer, manager or support) and lets them log in to the admin."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", choices=sorted(ROLES))

    def handle(self, *args, username, role, **options):
        try:
            user = get_user_model().objects.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user is called {username!r}.") from None
        user_role_grant(user=user, role=role)
        self.stdout.write(f"{username} is a {role} and may log in to the admin.")
