"""Issue 21's admin points in a real browser, in English and Korean: roles that work on their own, actions
only for those who may, expired coupons said to be expired, money with its currency, Korean that reads as
Korean, one format for moments, exports for people, the transitions list, words for marketers, the login
lockout's warning and the header's language switch. With COUPONOPS_SCREENSHOTS=<dir> the pages are saved."""

import re
from io import BytesIO
from pathlib import Path

import openpyxl
import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from distribution import services
from distribution.models import DistributionRequest
from distribution.roles import roles_apply
from tests.browser import PASSWORD, log_in, shot
from tests.helpers import by

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
WIDE = {"width": 1400, "height": 900}
MOMENT_EN = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
MOMENT_KO = re.compile(r"\d{4}-\d\d-\d\d (오전|오후) \d{1,2}:\d\d:\d\d")


@pytest.fixture
def people(django_user_model):
    roles_apply()  # a transactional test's flush empties the groups the migration made
    users = {"boss": django_user_model.objects.create_superuser("boss", "boss@example.com", PASSWORD)}
    for username, group in (("marketer", "marketer"), ("manager", "manager"), ("helpdesk", "support")):
        users[username] = django_user_model.objects.create_user(username, password=PASSWORD, is_staff=True)
        users[username].groups.add(Group.objects.get(name=group))
    return users


def browser(new_context, base_url, username, locale="en-US"):
    page = new_context(locale=locale, viewport=WIDE).new_page()
    log_in(page, base_url, username)
    return page


def awaiting_approval(people, coupon, settings):
    settings.DISTRIBUTION_APPROVAL_COUPONS, settings.DISTRIBUTION_APPROVAL_VALUE = 10, 100_000
    coupon.discount_kind, coupon.discount_amount = "amount", 5000
    coupon.save()
    distribution = services.distribution_draft(
        distribution=DistributionRequest(
            coupon=coupon, source="demo", table="warehouse.main.members", column="user_id", memo="m"
        ),
        actor=by(people["marketer"]),
    )
    services.distribution_confirm(distribution=distribution, actor=by(people["marketer"]))
    return distribution


def test_a_user_put_in_a_role_logs_in_without_anyone_ticking_staff_status(
    live_server, new_context, people, django_user_model
):
    newcomer = django_user_model.objects.create_user("newcomer", password=PASSWORD)
    boss = browser(new_context, live_server.url, "boss")
    boss.goto(f"{live_server.url}/admin/auth/user/{newcomer.pk}/change/")
    boss.dblclick('#id_groups_from option:text-is("marketer")')  # the filter widget moves it to "chosen"
    boss.click("input[name=_save]")
    expect(boss.locator(".messagelist")).to_contain_text("Staff status was turned on")
    page = new_context(locale="en-US", viewport=WIDE).new_page()
    log_in(page, live_server.url, "newcomer")  # fails unless the login is accepted
    expect(page.locator("#content")).to_contain_text("Coupon distribution")


def test_support_sees_details_not_revoke_and_the_axes_and_task_tables_are_hidden(
    live_server, new_context, people, coupon, members
):
    services.distribution_submit(
        distribution=DistributionRequest(coupon=coupon, source="demo", table=members, column="user_id", memo="m"),
        actor=by(people["marketer"]),
    )
    services.distribution_run_queue()
    for locale, link in (("en-US", "Details and history"), ("ko-KR", "상세 정보와 이력")):
        page = browser(new_context, live_server.url, "helpdesk", locale)
        page.goto(f"{live_server.url}/admin/")
        expect(page.locator("#content-main")).not_to_contain_text("Axes")
        page.goto(f"{live_server.url}/admin/distribution/coupon/issued/?coupon=SPRING10")
        expect(page.locator(".member-link").first).to_have_text(link)
        shot(page, f"21-support-issued-{locale}")
    marketer = browser(new_context, live_server.url, "marketer")
    marketer.goto(f"{live_server.url}/admin/distribution/coupon/issued/?coupon=SPRING10")
    expect(marketer.locator(".member-link").first).to_have_text("Revoke or restore")


def test_an_expired_coupon_warns_on_save_and_reads_expired_in_the_list(live_server, new_context, people):
    for locale, warning, state in (("en-US", "expired at", "Expired"), ("ko-KR", "발급 기한이 지났습니다", "만료됨")):
        page = browser(new_context, live_server.url, "marketer", locale)
        page.goto(f"{live_server.url}/admin/distribution/coupon/add/")
        code = f"OLD-{locale}"
        page.fill("#id_name", "Last year's coupon")
        page.fill("#id_code", code)
        page.select_option("#id_discount_kind", "percent")
        page.fill("#id_discount_amount", "10")
        page.fill("#id_valid_days", "14")
        page.fill("#id_issue_until_0", "2020-01-01")
        page.fill("#id_issue_until_1", "00:00:00")
        page.fill("#id_holdout_percent", "0")
        page.click("input[name=_save]")
        expect(page.locator(".messagelist .warning")).to_contain_text(warning)
        row = page.locator("#result_list tbody tr", has_text=code)
        expect(row.locator(".coupon-state")).to_have_text(state)
        expect(row.locator(".field-discount")).to_have_text("10%")
        shot(page, f"21-expired-coupon-{locale}")


def test_money_has_its_currency_on_the_approval_page(live_server, new_context, people, coupon, members, settings):
    distribution = awaiting_approval(people, coupon, settings)
    url = f"{live_server.url}/admin/distribution/distributionrequest/{distribution.pk}/change/"
    for locale, value in (("en-US", "250,000 KRW"), ("ko-KR", "250,000원")):
        page = browser(new_context, live_server.url, "manager", locale)
        page.goto(url)
        expect(page.locator('[data-preview="value"]')).to_have_text(value)
        shot(page, f"21-money-{locale}")


def test_korean_keeps_words_whole_and_reads_moments_one_way(
    live_server, new_context, people, coupon, members, settings
):
    distribution = awaiting_approval(people, coupon, settings)
    korean = browser(new_context, live_server.url, "marketer", "ko-KR")
    korean.goto(f"{live_server.url}/admin/distribution/distributionrequest/")
    assert korean.evaluate("getComputedStyle(document.body).wordBreak") == "keep-all"
    expect(korean.locator("#result_list .when").first).to_have_text(MOMENT_KO)
    expect(korean.locator(".paginator")).to_contain_text("배포 요청 1개")
    shot(korean, "21-list-ko")
    english = browser(new_context, live_server.url, "marketer")
    english.goto(f"{live_server.url}/admin/distribution/distributionrequest/{distribution.pk}/change/")
    expect(english.locator("#history tbody td").first).to_have_text(MOMENT_EN)
    expect(english.locator("body")).not_to_contain_text("For the engineers")
    expect(english.locator(".field-table .help")).to_be_hidden()  # no "catalog.schema.table" under the value


def test_the_transitions_list_fits_1400_pixels_with_words_and_a_readable_filter(
    live_server, new_context, people, coupon, members, settings
):
    distribution = awaiting_approval(people, coupon, settings)
    services.distribution_cancel(distribution=distribution, actor=by(people["manager"]))
    for locale, filter_title in (("en-US", "By who made it"), ("ko-KR", "한 사람")):
        page = browser(new_context, live_server.url, "manager", locale)
        page.goto(f"{live_server.url}/admin/distribution/transition/")
        expect(page.locator("#changelist-filter")).to_contain_text(filter_title)
        expect(page.locator("#changelist-filter")).not_to_contain_text("By by")
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        shot(page, f"21-transitions-{locale}")


def test_the_xlsx_export_is_named_for_people_with_a_sheet_name_and_date_cells(
    live_server, new_context, people, coupon, members, settings
):
    awaiting_approval(people, coupon, settings)
    for locale, name, header in (
        ("en-US", "Distribution requests", "Requested at"),
        ("ko-KR", "배포 요청", "요청 시각"),
    ):
        page = browser(new_context, live_server.url, "manager", locale)
        page.goto(f"{live_server.url}/admin/distribution/distributionrequest/export/")
        page.select_option("#id_format", label="xlsx")
        with page.expect_download() as download:
            page.click("input[type=submit]")
        today = timezone.localdate().isoformat()
        assert download.value.suggested_filename == f"{name}-{today}.xlsx"
        sheet = openpyxl.load_workbook(BytesIO(Path(download.value.path()).read_bytes())).active
        assert sheet.title == name
        headers = [cell.value for cell in sheet[1]]
        column = headers.index(header)
        assert sheet.cell(row=2, column=column + 1).is_date
        assert {"Rejected by", "Reason for rejecting"} <= set(headers) or locale != "en-US"


def test_the_login_warns_from_the_third_failure_and_a_colleague_still_logs_in(live_server, new_context, people):
    for locale, username, says in (("en-US", "marketer", "2 tries are left"), ("ko-KR", "helpdesk", "2번 더 틀리면")):
        page = new_context(locale=locale, viewport=WIDE).new_page()
        for _ in range(3):
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", username)
            page.fill("#id_password", f"wrong {locale}")
            page.click("input[type=submit]")
        expect(page.locator(".errornote", has_text=says)).to_be_visible()
        shot(page, f"21-login-warning-{locale}")
    colleague = new_context(viewport=WIDE).new_page()
    for _ in range(5):  # five failures for the marketer on this computer lock the marketer only
        colleague.goto(f"{live_server.url}/admin/login/")
        colleague.fill("#id_username", "marketer")
        colleague.fill("#id_password", "wrong again")
        colleague.click("input[type=submit]")
    log_in(colleague, live_server.url, "manager")


def test_the_language_switch_in_the_header_is_remembered_for_the_user(live_server, new_context, people):
    page = browser(new_context, live_server.url, "marketer")
    expect(page.locator("#site-name")).to_be_visible()
    page.select_option("#language-select", "ko")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("#logout-form")).to_contain_text("로그아웃")
    shot(page, "21-language-ko")
    elsewhere = browser(new_context, live_server.url, "marketer", "en-US")  # another browser, English
    expect(elsewhere.locator("html")).to_have_attribute("lang", "ko")


def test_the_list_actions_confirmation_page_puts_the_safe_choice_first(
    live_server, new_context, people, coupon, members, settings
):
    distribution = awaiting_approval(people, coupon, settings)
    DistributionRequest.objects.filter(pk=distribution.pk).update(status="queued", not_before=None)
    for locale, go_back in (("en-US", "No, go back"), ("ko-KR", "아니요, 돌아갑니다")):
        page = browser(new_context, live_server.url, "manager", locale)
        page.goto(f"{live_server.url}/admin/distribution/distributionrequest/")
        page.check(f'input[name="_selected_action"][value="{distribution.pk}"]')
        page.select_option("select[name=action]", "cancel")
        page.click("button[name=index]")
        expect(page.locator("#go-back")).to_have_text(go_back)
        expect(page.locator("#changing")).to_contain_text("marketer")
        box = page.locator("#go-back").bounding_box()
        yes = page.locator("#yes").bounding_box()
        assert box["x"] < yes["x"] and box["height"] >= yes["height"]
        shot(page, f"21-cancel-confirmation-{locale}")
    assert DistributionRequest.objects.get(pk=distribution.pk).status == "queued"
