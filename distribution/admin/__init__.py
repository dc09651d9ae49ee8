"""The admin, one module per subject; importing them registers their admins."""

from . import coupons, members, requests, tasks, transitions, users  # noqa: F401
