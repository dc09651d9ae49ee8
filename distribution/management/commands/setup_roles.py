from django.core.management.base import BaseCommand

from distribution.roles import ROLES, roles_apply


class Command(BaseCommand):
    help = "Creates the marketer, manager and support groups, or sets them back to exactly their permissions."

    def handle(self, *args, **options):
        roles_apply()
        self.stdout.write(f"Groups set: {', '.join(ROLES)}")
