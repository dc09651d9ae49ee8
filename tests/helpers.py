"""Small helpers shared by test modules."""

import time

import pytest

from distribution.actors import Actor


def by(user=None):
    """The actor of a service call: a person, or the command line when no user is given."""
    return Actor.for_user(user) if user is not None else Actor.command_line()


def wait_for(condition, timeout=120, what="condition"):
    """Polls `condition` until it is truthy, and returns what it returned."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def running_past(distribution, read):
    """Whether the request has read at least `read` members by now (for wait_for)."""
    distribution.refresh_from_db()
    return distribution.read_count >= read
