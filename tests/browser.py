"""Shared by the browser tests: people who log in, screenshots for the README, logging in."""

import os
from pathlib import Path

from django.contrib.auth.models import Permission
from playwright.sync_api import expect

PASSWORD = "pw-for-tests-only"
# Playwright's sync API keeps an event loop in this thread for the rest of the session; the ORM calls
# in the browser tests and in later tests are still synchronous. (test_security's `check --deploy` leaves
# it out.)
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def staff(django_user_model, username, codenames):
    user = django_user_model.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def shot(page, name, full_page=False):
    """Saves the page as docs' picture `name` when COUPONOPS_SCREENSHOTS names a folder."""
    folder = os.environ.get("COUPONOPS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full_page)


def log_in(page, base_url, username):
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_be_visible()
