"""Moved to common/records.py (issue 19: dependencies point one way). This name only keeps branches still in
flight working; delete it once they have merged."""

from common.records import *  # noqa: F403
