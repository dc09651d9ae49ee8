"""Moved to common/exports.py (issue 19: dependencies point one way). This name only keeps branches still in
flight working; delete it once they have merged."""

from common.exports import *  # noqa: F403
