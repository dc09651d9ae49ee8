"""The admin in a real browser (the machine's Chromium, driven by Playwright), with a real worker behind it.

A marketer makes a mistake, reads the error, fixes it, reads the preview, confirms and watches the bar
reach 100%; a manager then approves a large distribution. pytest-playwright saves a screenshot of each page
of a failing test under test-results/. With COUPONOPS_SCREENSHOTS=<dir> it also saves the README's
pictures there.
"""

import os
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from distribution.models import DistributionRequest
from tests.harness.cluster import process_env, qcluster

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
# Playwright's sync API keeps an event loop in this thread for the rest of the session; the ORM calls
# here and in later tests are still synchronous. (test_security's `check --deploy` leaves it out.)
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
PASSWORD = "pw-for-tests-only"


def shot(page, name):
    folder = os.environ.get("COUPONOPS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def staff(django_user_model, username, codenames):
    user = django_user_model.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def log_in(page, base_url, username):
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_be_visible()


def submit(page, base_url, coupon, table, column):
    page.goto(f"{base_url}/admin/distribution/distributionrequest/add/")
    page.select_option("#id_coupon", str(coupon.pk))
    page.select_option("#id_source", "warehouse")
    page.fill("#id_table", table)
    page.fill("#id_column", column)
    page.fill("#id_memo", "Spring campaign: loyal members")
    page.click("input[name=_save]")


@pytest.fixture
def people(django_user_model):
    marketer = staff(django_user_model, "marketer", ["add_distributionrequest", "change_distributionrequest",
                                                     "view_distributionrequest", "view_coupon"])
    manager = staff(django_user_model, "manager", ["view_distributionrequest", "approve_distributionrequest",
                                                   "cancel_distributionrequest", "view_coupon"])
    return marketer, manager


def test_a_marketer_fixes_a_mistake_confirms_and_a_manager_approves_a_large_one(
        live_server, page, new_context, people, postgres, warehouse, memory_table, coupon, settings, tmp_path):
    settings.DISTRIBUTION_APPROVAL_COUPONS = 50_000
    table = memory_table("SELECT custkey AS user_id FROM tpch.sf1.customer WHERE custkey <= 40000")
    env = process_env(TRINO_HOST="127.0.0.1", TRINO_PORT=warehouse.port, DISTRIBUTION_CHUNK_SIZE=5000)
    with qcluster(env, tmp_path / "qcluster.log"):
        log_in(page, live_server.url, "marketer")
        submit(page, live_server.url, coupon, table, "member_no")
        expect(page.locator(".errorlist")).to_contain_text("Column “member_no” does not exist")
        shot(page, "1-error")

        page.fill("#id_column", "user_id")
        page.click("input[name=_save]")
        expect(page.locator('[data-preview="would-issue"]')).to_have_text("40,000")
        expect(page.locator('[data-preview="samples"]')).to_have_text(re.compile(r"^\d+(, \d+){9}$"))
        shot(page, "2-preview")

        page.click("#confirm")
        expect(page.locator(".messagelist")).to_contain_text("Confirmed and queued")
        expect(page.locator(".live-progress .percent")).to_have_text("100%", timeout=60_000)
        expect(page.locator(".live-progress")).to_have_attribute("data-live", "false")  # polling stopped
        expect(page.locator(".live-status")).to_have_text("Succeeded")
        shot(page, "3-done")
        done = DistributionRequest.objects.get(table=table)
        assert (done.status, done.issued_count) == ("succeeded", 40_000)

        submit(page, live_server.url, coupon, "tpch.sf1.customer", "custkey")
        expect(page.locator(".approval-note")).to_be_visible()
        page.click("#confirm")
        expect(page.locator(".messagelist")).to_contain_text("waits for another user's approval")
        expect(page.locator("#approve")).to_have_count(0)  # not for its own requester
        large = DistributionRequest.objects.get(table="tpch.sf1.customer")

        manager = new_context(locale="en-US", viewport={"width": 1680, "height": 900}).new_page()
        log_in(manager, live_server.url, "manager")
        manager.goto(f"{live_server.url}/admin/distribution/distributionrequest/{large.pk}/change/")
        shot(manager, "4-approval")
        manager.click("#approve")
        expect(manager.locator(".messagelist")).to_contain_text("Approved and queued")
        large.refresh_from_db()
        assert large.status in ("queued", "running", "succeeded") and large.approved_by.username == "manager"
        manager.goto(f"{live_server.url}/admin/distribution/distributionrequest/")
        shot(manager, "5-history")


def test_a_korean_browser_gets_the_admin_in_korean(live_server, new_context, people, postgres, coupon):
    page = new_context(locale="ko-KR").new_page()
    log_in(page, live_server.url, "marketer")
    page.goto(f"{live_server.url}/admin/distribution/distributionrequest/add/")
    expect(page.locator("label[for=id_column]")).to_contain_text("사용자 ID 컬럼")
    shot(page, "6-korean")
