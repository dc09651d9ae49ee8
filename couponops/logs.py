"""Moved to common/logs.py (issue 19: dependencies point one way). This name only keeps branches still in
flight working; delete it once they have merged."""

from common.logs import *  # noqa: F403
