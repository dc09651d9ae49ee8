"""The safety pages in a real browser: a request stopped by a changed audience is previewed again and confirmed by
its requester; support revokes and restores one member's coupon with a reason. English and Korean.

With COUPONOPS_SCREENSHOTS=<dir> the pages are saved there (as tests/test_browser.py does)."""

import os

import pytest
from playwright.sync_api import expect

from distribution import services
from distribution.models import DistributionRequest, IssuedCoupon
from tests.browser import log_in, shot, staff
from tests.helpers import by

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def support(django_user_model):
    return staff(
        django_user_model, "support", ["view_coupon", "view_distributionrequest", "revoke_distributionrequest"]
    )


@pytest.fixture
def marketer(django_user_model):
    return staff(
        django_user_model,
        "marketer",
        ["view_coupon", "view_distributionrequest", "add_distributionrequest", "change_distributionrequest"],
    )


@pytest.mark.parametrize(
    "locale, words",
    [
        (
            "en-US",
            {
                "stopped": "The table now has 4 members; you confirmed 10.",
                "again": "Preview the table again",
                "revoked": "Revoked",
                "usable": "Usable",
            },
        ),
        (
            "ko-KR",
            {
                "stopped": "테이블의 회원이 지금 4명입니다. 확정한 인원은 10명이었습니다.",
                "again": "테이블 다시 미리보기",
                "revoked": "회수됨",
                "usable": "사용 가능",
            },
        ),
    ],
)
def test_a_changed_audience_is_previewed_again_and_support_fixes_one_member(
    locale, words, live_server, new_context, postgres, coupon, duckdb_source, marketer, support, settings
):
    settings.LANGUAGE_CODE = locale[:2]  # the worker writes the stop reason in the site's language
    duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 11) t(i)")
    distribution = services.distribution_draft(
        actor=by(marketer),
        distribution=DistributionRequest(
            coupon=coupon, source="demo", table="warehouse.main.members", column="user_id", memo="spring"
        ),
    )
    services.distribution_confirm(distribution=distribution, actor=by(marketer))
    duckdb_source("DELETE FROM members WHERE user_id > 4")
    services.distribution_run_queue()

    page = new_context(locale=locale, viewport={"width": 1400, "height": 1000}).new_page()
    log_in(page, live_server.url, "marketer")  # the requester previews the changed table again
    page.goto(f"{live_server.url}/admin/distribution/distributionrequest/{distribution.pk}/change/")
    expect(page.locator("#audience-changed")).to_contain_text(words["stopped"])
    shot(page, f"safety-audience-changed-{locale}")
    page.click("#preview-again")
    expect(page.locator('[data-preview="targets"]')).to_have_text("4")
    page.click("#confirm")
    services.distribution_run_queue()
    assert IssuedCoupon.objects.filter(coupon=coupon).count() == 4

    page = new_context(locale=locale, viewport={"width": 1400, "height": 1000}).new_page()
    log_in(page, live_server.url, "support")  # support fixes one member
    page.goto(f"{live_server.url}/admin/distribution/coupon/issued/?coupon={coupon.pk}&user_id=3")
    page.click("a.member-link")
    expect(page.locator("#member-state")).to_have_text(words["usable"])
    page.fill("textarea[name=reason]", "the member asked (ticket 4711)")
    shot(page, f"safety-member-{locale}")
    page.click("#member-revoke")
    expect(page.locator("#member-state")).to_have_text(words["revoked"])
    expect(page.locator(".member-history")).to_contain_text("ticket 4711")
    shot(page, f"safety-member-revoked-{locale}")
    assert IssuedCoupon.objects.get(coupon=coupon, user_id=3).deleted_at is not None
