"""Who or what changes a request: a person in the admin, the worker, the watchdog or the command line."""

import getpass
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    USER = "user", _("user")
    WORKER = "worker", _("worker")
    WATCHDOG = "watchdog", _("watchdog")
    COMMAND_LINE = "command_line", _("command line")
    SCHEDULE = "schedule", _("schedule")


@dataclass(frozen=True)
class Actor:
    kind: str
    user: object = None
    name: str = ""

    @classmethod
    def for_user(cls, user):
        return cls(Kind.USER, user, user.get_username())

    @classmethod
    def command_line(cls, user=None):
        """The command line acts as a user when given one, and always names the operating-system user."""
        return cls(Kind.COMMAND_LINE, user, getpass.getuser())

    @classmethod
    def for_schedule(cls, owner, name):
        """A schedule's run: the system acting on behalf of the schedule's owner, who requested it."""
        return cls(Kind.SCHEDULE, owner, name[:150])

    @property
    def user_id(self):
        return self.user.pk if self.user is not None else None


WORKER = Actor(Kind.WORKER, name="worker")
WATCHDOG = Actor(Kind.WATCHDOG, name="watchdog")
