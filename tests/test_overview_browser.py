"""The managers' overview in a real browser (the machine's Chromium via Playwright): every number on the page
is checked against the database, in English and in Korean. With COUPONOPS_SCREENSHOTS=<dir> it saves the
README's pictures there (7-overview.png, 8-overview-ko.png)."""

import os
import socket
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from common.heartbeat import heartbeat_record
from distribution.models import Coupon, DistributionRequest
from tests.browser import log_in, staff

Status = DistributionRequest.Status
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def full_shot(page, name):
    folder = os.environ.get("COUPONOPS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def a_month_of_requests(manager):
    """Requests of every kind over the last five weeks, on four coupons; one of them running now."""
    now = timezone.now()
    coupons = [
        Coupon.objects.create(
            name=f"Campaign {code}", code=code, discount_kind="percent", discount_amount=10, valid_days=14
        )
        for code in ("WELCOME10", "SPRING15", "VIP20", "COMEBACK5")
    ]

    def distribution(coupon, status, days_ago=None, issued=0, **fields):
        at = now - timedelta(days=days_ago, hours=1) if days_ago is not None else None
        return DistributionRequest.objects.create(
            coupon=coupon,
            source="warehouse",
            table="hive.crm.audience",
            column="user_id",
            memo="overview",
            status=status,
            issued_count=issued,
            read_count=issued,
            target_count=fields.pop("target", issued),
            finished_at=at,
            started_at=at,
            heartbeat_at=at,
            **fields,
        )

    for i in range(24):  # succeeded runs, most days of the last five weeks
        distribution(coupons[i % 3], Status.SUCCEEDED, days_ago=i * 1.5, issued=(i % 5 + 1) * 210_000 + i * 1_337)
    distribution(coupons[1], Status.REVOKED, days_ago=3, issued=400_000, revoked_count=380_000, revoked_at=now)
    distribution(
        coupons[2],
        Status.FAILED,
        days_ago=1,
        issued=120_000,
        error_code="warehouse_error",  # as runs store failures: a code and values, read in each reader's language
        error_values={"name": "EXCEEDED_LOCAL_MEMORY_LIMIT", "error": "Query exceeded per-node memory limit of 2GB"},
    )
    distribution(
        coupons[0],
        Status.FAILED,
        days_ago=5,
        issued=0,
        error_code="coupon_unusable",
        error_values={"code": "WELCOME10"},
    )
    distribution(coupons[0], Status.FAILED, days_ago=12, issued=0, error_message="an old failure, out of the window")
    distribution(coupons[1], Status.CANCELLED, days_ago=2, issued=35_000)
    running = distribution(coupons[3], Status.RUNNING, target=2_000_000, issued=0, attempts=1)
    DistributionRequest.objects.filter(pk=running.pk).update(
        read_count=1_300_000, issued_count=1_240_000, started_at=now - timedelta(seconds=5), heartbeat_at=now
    )
    for coupon in coupons[:2]:
        distribution(coupon, Status.QUEUED, target=500_000, queued_at=now)
    distribution(coupons[2], Status.AWAITING_APPROVAL, target=3_000_000, requested_by=manager, confirmed_at=now)
    for cluster in ("couponops", "notifications"):  # both workers are up
        heartbeat_record(cluster=cluster, host=socket.gethostname(), pid=1, started_at=now)


def expected_numbers():
    """The overview's numbers, recomputed here from the rows by plain Python."""
    today = timezone.localdate()
    first_day, first_of_month = today - timedelta(days=29), today.replace(day=1)
    per_day, per_coupon, month = Counter(), Counter(), Counter()
    for r in DistributionRequest.objects.select_related("coupon"):
        last = r.finished_at or r.heartbeat_at
        day = timezone.localdate(last) if last else None
        if r.issued_count and day and day >= first_day:
            per_day[day.isoformat()] += r.issued_count
            per_coupon[r.coupon.code] += r.issued_count
        if r.issued_count and day and day >= first_of_month:
            month["issued"] += r.issued_count
        if r.finished_at and timezone.localdate(r.finished_at) >= first_of_month:
            month[{"revoked": "succeeded"}.get(r.status, r.status)] += 1
        if r.revoked_at and timezone.localdate(r.revoked_at) >= first_of_month:
            month["revoked"] += r.revoked_count
    failures = {
        str(r.pk)
        for r in DistributionRequest.objects.filter(
            status=Status.FAILED, finished_at__gte=timezone.now() - timedelta(days=7)
        )
    }
    return per_day, per_coupon, month, failures


def test_the_overview_shows_the_databases_numbers_in_english_and_korean(live_server, new_context, django_user_model):
    manager = staff(
        django_user_model, "manager", ["view_distributionrequest", "approve_distributionrequest", "view_coupon"]
    )
    a_month_of_requests(manager)
    per_day, per_coupon, month, failures = expected_numbers()
    page = new_context(locale="en-US", viewport={"width": 1400, "height": 900}).new_page()
    log_in(page, live_server.url, "manager")
    page.click("text=Overview")

    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.locator(".worker-banner")).to_have_count(0)
    expect(page.locator(".running .live-progress")).to_have_attribute("data-live", "true")
    expect(page.locator(".running .percent")).to_have_text("65%")
    expect(page.locator('[data-count="queued"]')).to_have_text("2")
    expect(page.locator('[data-count="awaiting"]')).to_have_text("1")
    for key in ("issued", "succeeded", "failed", "cancelled", "revoked"):
        expect(page.locator(f'[data-total="{key}"]')).to_have_text(f"{month[key]:,}")
    bars = page.locator("svg.columns rect")
    expect(bars).to_have_count(30)
    shown = {bars.nth(i).get_attribute("data-day"): int(bars.nth(i).get_attribute("data-value")) for i in range(30)}
    assert {day: n for day, n in shown.items() if n} == dict(per_day)
    expect(page.locator('[data-total="per-day"]')).to_have_text(f"{sum(per_day.values()):,}")
    coupon_bars = page.locator("svg.rows rect")
    assert {
        coupon_bars.nth(i).get_attribute("data-coupon"): int(coupon_bars.nth(i).get_attribute("data-value"))
        for i in range(coupon_bars.count())
    } == dict(per_coupon)
    expect(page.locator('[data-count="failures"]')).to_have_text(str(len(failures)))
    rows = page.locator(".failures tbody tr")
    assert {rows.nth(i).get_attribute("data-request") for i in range(rows.count())} == failures
    expect(page.locator(".failures")).to_contain_text("per-node memory limit")
    full_shot(page, "7-overview")

    korean = new_context(locale="ko-KR", viewport={"width": 1400, "height": 900}).new_page()
    log_in(korean, live_server.url, "manager")
    korean.goto(f"{live_server.url}/admin/overview/")
    expect(korean.locator("h1")).to_have_text("현황")
    expect(korean.locator('[data-total="issued"]')).to_have_text(f"{month['issued']:,}")
    expect(korean.locator(".failures h2")).to_contain_text("최근 7일 실패")
    full_shot(korean, "8-overview-ko")
