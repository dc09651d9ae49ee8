"""The admin in a real browser (the machine's Chromium, driven by Playwright), with a real worker behind it.

A marketer makes a mistake, reads the error, fixes it, reads the preview, confirms and watches every
live part of the request and the list change together; a manager reads why a large request needs
approval, approves one and rejects another with a reason; a support agent looks a member up; ordinary
mistakes are form errors, in English and Korean. pytest-playwright saves a screenshot of each page of a
failing test under test-results/. With COUPONOPS_SCREENSHOTS=<dir> it also saves the README's pictures
there.
"""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from distribution.models import Coupon, DistributionRequest, IssuedCoupon
from distribution.roles import roles_apply
from tests.browser import PASSWORD, log_in, shot
from tests.harness.cluster import process_env, qcluster

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
WIDE = {"width": 1400, "height": 900}


def browser(new_context, base_url, username, locale="en-US", viewport=WIDE):
    page = new_context(locale=locale, viewport=viewport).new_page()
    log_in(page, base_url, username)
    return page


def fill_request(page, base_url, coupon, table, column):
    page.goto(f"{base_url}/admin/distribution/distributionrequest/add/")
    page.select_option("#id_coupon", str(coupon.pk))
    page.select_option("#id_source", "warehouse")
    page.fill("#id_table", table)
    page.fill("#id_column", column)
    page.fill("#id_memo", "Spring campaign: loyal members")


def submit(page, base_url, coupon, table, column):
    fill_request(page, base_url, coupon, table, column)
    page.click("input[name=_save]")


def change_url(base_url, distribution):
    return f"{base_url}/admin/distribution/distributionrequest/{distribution.pk}/change/"


@pytest.fixture
def people(django_user_model):
    """One user per role, each only in their group (the groups are the data migration's)."""
    cache.clear()
    roles_apply()  # a transactional test's flush empties the groups the migration made
    users = {}
    for username, group in (("marketer", "marketer"), ("manager", "manager"), ("helpdesk", "support")):
        users[username] = django_user_model.objects.create_user(username, password=PASSWORD, is_staff=True)
        users[username].groups.add(Group.objects.get(name=group))
    return users


def live(page, field):
    return page.locator(f'.live[data-field="{field}"]').first


def test_a_marketer_fixes_a_mistake_confirms_and_watches_every_live_part_change_together(
    live_server, new_context, people, postgres, warehouse, memory_table, coupon, tmp_path
):
    table = memory_table("SELECT custkey AS user_id FROM tpch.sf1.customer WHERE custkey <= 40000")
    env = process_env(
        TRINO_HOST="127.0.0.1", TRINO_PORT=warehouse.port, DISTRIBUTION_CHUNK_SIZE=4000, DISTRIBUTION_CHUNK_PAUSE=0.6
    )
    page = browser(new_context, live_server.url, "marketer")
    submit(page, live_server.url, coupon, table, "member_no")
    expect(page.locator(".errorlist")).to_contain_text("Column “member_no” does not exist")
    shot(page, "1-error")

    page.fill("#id_column", "user_id")
    page.click("input[name=_save]")
    expect(page.locator('[data-preview="would-issue"]')).to_have_text("40,000")
    expect(page.locator('[data-preview="samples"]')).to_have_text(re.compile(r"^\d+(, \d+){9}$"))
    shot(page, "2-preview")

    with qcluster(env, tmp_path / "qcluster.log"):
        page.click("#confirm")
        expect(page.locator(".messagelist")).to_contain_text("Confirmed and queued")
        listing = page.context.new_page()
        listing.goto(f"{live_server.url}/admin/distribution/distributionrequest/")
        # Mid-run, without a reload: the bar, Read and the status move together.
        expect(live(page, "status")).to_have_text("Running", timeout=30_000)
        expect(live(page, "read")).to_have_text(re.compile(r"^[1-3]\d,000$|^[4-9],000$"), timeout=30_000)
        read, progress = page.evaluate("""() => ["read", "progress"].map(
            (field) => document.querySelector(`.live[data-field="${field}"]`).innerText)""")
        assert read in progress  # one answer, swapped in at once: “12,000 / 40,000 · …”
        expect(page.locator("#revoke")).to_have_count(0)
        # At the end, every part has its final value and Revoke has appeared, still without a reload.
        expect(live(page, "progress").locator(".percent")).to_have_text("100%", timeout=60_000)
        expect(live(page, "status")).to_have_text("Succeeded")
        expect(live(page, "issued")).to_have_text("40,000")
        expect(live(page, "elapsed")).to_have_text(re.compile(r"^\d+\.\d s$"))
        expect(page.locator("#revoke")).to_be_visible()
        row = listing.locator(f'#result_list tr:has(.live[data-request="{DistributionRequest.objects.get().pk}"])')
        expect(row.locator('.live[data-field="status"]')).to_have_text("Succeeded", timeout=10_000)
        expect(row.locator('.live[data-field="issued"]')).to_have_text("40,000")
    page.reload()
    expect(page.locator("#history .transition-succeeded")).to_contain_text("Succeeded")
    shot(page, "3-done", full_page=True)
    korean = browser(new_context, live_server.url, "marketer", locale="ko-KR")
    korean.goto(page.url)
    expect(korean.locator("#history .transition-succeeded")).to_contain_text("성공")
    expect(korean.locator("#history .transition-started")).to_contain_text("시스템")
    expect(korean.locator(".live-status")).to_have_text("성공")
    shot(korean, "3-done-ko", full_page=True)
    done = DistributionRequest.objects.get(table=table)
    assert (done.status, done.issued_count) == ("succeeded", 40_000)


def test_a_manager_reads_why_approval_is_needed_approves_one_and_rejects_another(
    live_server, new_context, people, postgres, warehouse, settings
):
    settings.DISTRIBUTION_APPROVAL_COUPONS, settings.DISTRIBUTION_APPROVAL_VALUE = 100_000, 50_000_000
    coupon = Coupon.objects.create(
        name="Spring 3,000 won", code="SPRING3000", discount_kind="amount", discount_amount=3000, valid_days=14
    )
    marketer = browser(new_context, live_server.url, "marketer")
    ids = []
    for _ in range(2):
        submit(marketer, live_server.url, coupon, "tpch.sf1.customer", "custkey")
        expect(marketer.locator(".approval-note")).to_be_visible()
        marketer.click("#confirm")
        expect(marketer.locator(".messagelist")).to_contain_text("waits for another user's approval")
        expect(marketer.locator("#approve")).to_have_count(0)  # not for its own requester
        ids.append(DistributionRequest.objects.latest("pk"))

    manager = browser(new_context, live_server.url, "manager", viewport={"width": 1400, "height": 1000})
    manager.goto(change_url(live_server.url, ids[0]))
    reasons = manager.locator(".approval-reasons")
    expect(reasons).to_contain_text("It would issue 150,000 coupons; more than 100,000 need approval.")
    expect(reasons).to_contain_text("150,000 coupons × 3,000 KRW put 450,000,000 KRW at stake")
    expect(manager.locator(".approvers")).to_contain_text("Who may approve: manager")
    shot(manager, "4-approval")
    manager.click("#approve")
    expect(manager.locator(".messagelist")).to_contain_text("Approved and queued")

    korean = browser(new_context, live_server.url, "manager", locale="ko-KR", viewport={"width": 1400, "height": 1000})
    korean.goto(change_url(live_server.url, ids[1]))
    expect(korean.locator(".approval-note")).to_have_text("승인이 필요한 이유:")
    expect(korean.locator(".approval-reasons")).to_contain_text("할인 총액 450,000,000")
    korean.fill("#reject-reason", "대상이 너무 넓습니다. VIP 회원만 다시 요청해 주세요.")
    shot(korean, "8-approval-ko")
    korean.click("#reject")
    expect(korean.locator(".messagelist")).to_contain_text("반려했습니다")
    expect(korean.locator("#history .transition-rejected")).to_contain_text("사유: 대상이 너무 넓습니다")
    rejected = DistributionRequest.objects.get(pk=ids[1].pk)
    assert (rejected.status, rejected.rejected_by.username) == ("rejected", "manager")


def test_the_list_a_manager_scans_fits_1400_pixels_without_discarded_drafts(
    live_server, new_context, people, postgres, warehouse, coupon
):
    from distribution import services
    from tests.helpers import by

    marketer = people["marketer"]
    for memo in ("kept", "thrown away"):
        services.distribution_draft(
            distribution=DistributionRequest(
                coupon=coupon, source="warehouse", table="tpch.tiny.customer", column="custkey", memo=memo
            ),
            actor=by(marketer),
        )
    discarded = DistributionRequest.objects.get(memo="thrown away")
    services.distribution_discard(distribution=discarded, actor=by(marketer))
    later = DistributionRequest(
        coupon=coupon,
        source="warehouse",
        table="tpch.tiny.orders",
        column="custkey",
        memo="tomorrow",
        not_before=timezone.now() + timedelta(days=1),
    )
    services.distribution_submit(distribution=later, actor=by(marketer))
    services.distribution_submit(
        distribution=DistributionRequest(
            coupon=coupon, source="warehouse", table="tpch.tiny.customer", column="custkey", memo="ran"
        ),
        actor=by(marketer),
    )
    services.distribution_run_queue()  # the one due runs; tomorrow's waits
    ran = services.distribution_submit(
        distribution=DistributionRequest(
            coupon=coupon, source="warehouse", table="tpch.tiny.supplier", column="suppkey", memo="never ran"
        ),
        actor=by(marketer),
    )
    services.distribution_cancel(distribution=ran, actor=by(people["manager"]))
    manager = browser(new_context, live_server.url, "manager")
    manager.goto(f"{live_server.url}/admin/distribution/distributionrequest/")
    expect(manager.locator("#result_list tbody tr")).to_have_count(4)  # the discarded draft is left out
    expect(manager.locator("h1")).to_have_text("Distribution requests")
    expect(manager.locator(f'.live[data-field="status"][data-request="{later.pk}"]')).to_contain_text(
        re.compile(r"Queued · starts at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
    )
    assert manager.evaluate("""() => [document.documentElement, document.querySelector("#changelist .results")]
        .every((box) => box.scrollWidth <= box.clientWidth)""")  # no horizontal scrolling, page or table
    shot(manager, "5-history")
    korean = browser(new_context, live_server.url, "manager", locale="ko-KR")
    korean.goto(f"{live_server.url}/admin/distribution/distributionrequest/export/?status=succeeded")
    expect(korean.locator(".export-scope")).to_contain_text("목록의 필터와 검색 조건이 그대로 적용됩니다")
    shot(korean, "11-export-ko", full_page=True)
    korean.goto(f"{live_server.url}/admin/distribution/distributionrequest/")
    shot(korean, "5-history-ko")
    manager.fill("#searchbar", "Spring 10")
    manager.press("#searchbar", "Enter")
    expect(manager.locator("#result_list tbody tr")).to_have_count(4)


def test_a_support_agent_looks_a_member_up_as_they_type_it(live_server, new_context, people, postgres, coupon):
    now = timezone.now()
    welcome = Coupon.objects.create(
        name="Welcome 10%", code="WELCOME10", discount_kind="percent", discount_amount=10, valid_days=30
    )
    distribution = DistributionRequest.objects.create(
        coupon=welcome, source="demo", table="demo.main.members", column="member_id", memo="welcome", status="succeeded"
    )
    IssuedCoupon.objects.bulk_create(
        [
            IssuedCoupon(
                coupon=welcome,
                user_id=user_id,
                distribution=distribution,
                issued_at=now,
                expires_at=now + timedelta(days=30),
            )
            for user_id in (*range(1, 101), 2519091)
        ]
    )
    IssuedCoupon.objects.create(
        coupon=coupon,
        user_id=2519091,
        distribution=distribution,
        issued_at=now,
        expires_at=now + timedelta(days=14),
        used_at=now,
    )
    page = browser(new_context, live_server.url, "helpdesk")
    page.goto(f"{live_server.url}/admin/distribution/coupon/issued/")
    page.fill("#lookup-user", "2,519,091 ")
    page.fill("#lookup-coupon", "welcome10")
    page.click(".issued-filter input[type=submit]")
    expect(page.locator(".issued-row")).to_have_count(1)
    expect(page.locator(".issued-row .state")).to_have_text("Usable")
    expect(page.locator(".issued-row .coupon")).to_have_text("WELCOME10 Welcome 10%")
    expect(page.locator("#lookup-user")).to_have_value("2519091")
    shot(page, "7-lookup")
    page.fill("#lookup-coupon", "")
    page.click(".issued-filter input[type=submit]")
    expect(page.locator(".issued-row")).to_have_count(2)  # the member filter stays

    korean = browser(new_context, live_server.url, "helpdesk", locale="ko-KR")
    korean.goto(f"{live_server.url}/admin/distribution/coupon/issued/?user_id=2519091")
    expect(korean.locator(".issued-row .state")).to_have_text(["사용 가능", "사용함"])
    shot(korean, "9-lookup-ko")
    korean.fill("#lookup-user", "25l9091")
    korean.click(".issued-filter input[type=submit]")
    expect(korean.locator(".lookup-errors")).to_contain_text("회원 ID가 아닙니다")
    expect(korean.locator(".issued-row")).to_have_count(0)


def test_ordinary_mistakes_are_form_errors_and_names_are_suggested_in_korean(
    live_server, new_context, people, postgres, warehouse, coupon
):
    page = browser(new_context, live_server.url, "marketer", locale="ko-KR")
    page.goto(f"{live_server.url}/admin/")
    expect(page.locator("#content-main")).not_to_contain_text("Django Q")  # the task tables: superusers only
    expect(page.locator("#content-main")).to_contain_text("배포 요청")
    page.goto(f"{live_server.url}/admin/distribution/distributionrequest/add/")
    expect(page.locator("label[for=id_column]")).to_contain_text("회원 ID 컬럼")
    expect(page.locator(".field-coupon .help")).to_contain_text("지금 발급할 수 있는 쿠폰만")
    page.select_option("#id_source", "warehouse")
    page.fill("#id_table", "tp")
    expect(page.locator("#table-suggestions option[value='tpch.']")).to_have_count(1, timeout=10_000)
    page.fill("#id_table", "tpch.tiny.")
    expect(page.locator("#table-suggestions option[value='tpch.tiny.customer']")).to_have_count(1, timeout=10_000)
    page.fill("#id_table", "tpch.tiny.customer")
    page.fill("#id_column", "")
    page.focus("#id_column")
    expect(page.locator("#column-suggestions option[value='custkey']")).to_have_count(1, timeout=10_000)
    page.fill("#id_table", "tpch.")
    expect(page.locator(".field-table .suggestions button", has_text="tpch.tiny.")).to_be_visible(timeout=10_000)
    page.click(".field-table .suggestions button:text('tpch.tiny.')")
    expect(page.locator("#id_table")).to_have_value("tpch.tiny.")
    expect(page.locator(".field-table .suggestions button", has_text="tpch.tiny.customer")).to_be_visible()
    shot(page, "6-korean")

    # The coupon expires while the form is open: the service's message, on the coupon, in Korean.
    fill_request(page, live_server.url, coupon, "tpch.tiny.customer", "custkey")
    page.fill("#id_not_before_0", (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%d"))
    page.fill("#id_not_before_1", "10:00:00")
    Coupon.objects.filter(pk=coupon.pk).update(issue_until=timezone.now() - timedelta(hours=1))
    page.click("input[name=_save]")
    expect(page.locator(".field-coupon .errorlist")).to_contain_text("만료되었습니다")
    expect(page.locator(".field-not_before .errorlist")).to_contain_text("이미 지났습니다")
    shot(page, "10-mistakes-ko", full_page=True)
    assert not DistributionRequest.objects.exists()
