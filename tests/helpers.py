"""Small helpers shared by test modules."""

from distribution.actors import Actor


def by(user=None):
    """The actor of a service call: a person, or the command line when no user is given."""
    return Actor.for_user(user) if user is not None else Actor.command_line()
