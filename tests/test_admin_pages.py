"""The admin's second pass, through Django's test client: what a marketer, a manager and a support agent
read on each page, in English and Korean, and that the services refuse what the pages hide."""

import csv
import html
import io
import logging
import re
from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import duckdb
import openpyxl
import pytest
import tablib
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from distribution import live, services
from distribution.models import Coupon, DistributionRequest
from distribution.resources import CouponResource
from distribution.roles import ROLES, roles_apply
from notifications import messages as slack
from tests.helpers import by

ADD_URL = reverse("admin:distribution_distributionrequest_add")
LIST_URL = reverse("admin:distribution_distributionrequest_changelist")
KO = {"HTTP_ACCEPT_LANGUAGE": "ko"}


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test's DuckDB file is new: no example table remembered from another test."""
    cache.clear()


@pytest.fixture(autouse=True)
def roles(db):
    """The groups the data migration made; set again, as a transactional test's flush empties them."""
    roles_apply()


def form(coupon, table, column="user_id", **extra):
    return {"coupon": coupon.pk, "source": "demo", "table": table, "column": column, "memo": "spring", **extra}


def change_url(distribution):
    return reverse("admin:distribution_distributionrequest_change", args=[distribution.pk])


def draft(user, coupon, table="warehouse.main.members", **fields):
    return services.distribution_draft(
        distribution=DistributionRequest(
            coupon=coupon, source="demo", table=table, column="user_id", memo="m", **fields
        ),
        actor=by(user),
    )


def text(response):
    return re.sub(r"\s+", " ", response.content.decode())


# --- 1. a service's refusal is a form error on its field, never a server error -----------------------


def test_a_coupon_expired_since_the_page_loaded_is_a_form_error_with_the_date_in_the_site_time_zone(
    marketer, coupon, members
):
    coupon.issue_until = datetime(2026, 1, 1, tzinfo=ZoneInfo("Asia/Seoul"))  # 15:00 UTC on Dec. 31
    coupon.save()
    response = marketer.post(ADD_URL, form(coupon, members))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "expired on 2026-01-01 00:00:00" in errors["coupon"][0]  # one format for moments, the site's zone
    korean = text(marketer.post(ADD_URL, form(coupon, members), **KO))
    assert "2026-01-01 오전 12:00:00" in korean and "만료" in korean
    assert not DistributionRequest.objects.exists()


def test_an_audience_over_the_budget_is_a_form_error_on_the_coupon(marketer, coupon, members):
    coupon.budget = 10
    coupon.save()
    response = marketer.post(ADD_URL, form(coupon, members))
    assert response.status_code == 200
    assert (
        "has 10 coupons left in its budget, and this request would issue 50"
        in response.context["adminform"].form.errors["coupon"][0]
    )


def test_an_inactive_coupon_is_a_form_error_and_the_service_refuses_it_too(marketer, coupon, members, staff_user):
    coupon.is_active = False
    coupon.save()
    response = marketer.post(ADD_URL, form(coupon, members))
    assert "is not active" in response.context["adminform"].form.errors["coupon"][0]
    with pytest.raises(ValidationError):
        draft(staff_user, coupon)


# --- 6. start time --------------------------------------------------------------------------------


def test_a_start_time_in_the_past_is_refused_by_the_form_and_the_service(marketer, coupon, members, staff_user):
    past = timezone.localtime() - timedelta(hours=2)
    response = marketer.post(
        ADD_URL, form(coupon, members, not_before_0=past.strftime("%Y-%m-%d"), not_before_1=past.strftime("%H:%M:%S"))
    )
    assert "has already passed" in response.context["adminform"].form.errors["not_before"][0]
    with pytest.raises(ValidationError, match="already passed"):
        draft(staff_user, coupon, not_before=timezone.now() - timedelta(hours=2))
    assert not DistributionRequest.objects.exists()


def test_a_future_start_is_said_on_confirming_on_the_list_and_in_slack(marketer, coupon, members, staff_user):
    later = timezone.localtime() + timedelta(hours=3)
    distribution = draft(staff_user, coupon, not_before=later)
    confirmed = marketer.post(
        reverse("admin:distribution_distributionrequest_confirm", args=[distribution.pk]), follow=True
    )
    # “14:00” today, the whole moment when three hours from now is tomorrow (a run late in the evening)
    clock = re.escape(html.escape(live.start_time(later)))
    assert re.search(rf"it starts at {clock}\.", text(confirmed))
    assert re.search(rf"Queued · starts at {clock}<", text(marketer.get(LIST_URL)))
    assert "시작 예정" in text(marketer.get(LIST_URL, **KO))
    distribution.refresh_from_db()
    facts = slack.render("approval_needed", distribution)["text"]
    assert later.strftime("%Y-%m-%d %H:%M") in facts


# --- 7. the coupon dropdown -----------------------------------------------------------------------


def test_the_coupon_list_offers_only_issuable_coupons_with_their_budget_left(marketer, coupon, staff_user, members):
    Coupon.objects.create(
        name="Old",
        code="OLD",
        discount_kind="percent",
        discount_amount=5,
        valid_days=7,
        issue_until=timezone.now() - timedelta(days=1),
    )
    Coupon.objects.create(
        name="Off", code="OFF", discount_kind="percent", discount_amount=5, valid_days=7, is_active=False
    )
    spent = Coupon.objects.create(
        name="Spent", code="SPENT", discount_kind="percent", discount_amount=5, valid_days=7, budget=50
    )
    capped = Coupon.objects.create(
        name="Capped", code="CAPPED", discount_kind="percent", discount_amount=5, valid_days=7, budget=1_000
    )
    services.distribution_submit(
        distribution=DistributionRequest(coupon=spent, source="demo", table=members, column="user_id", memo="m"),
        actor=by(staff_user),
    )
    services.distribution_run_queue()
    page = text(marketer.get(ADD_URL))
    options = re.findall(r'<option value="\d+">([^<]*)</option>', page)
    assert sorted(options) == sorted([str(coupon), f"{capped} · 1,000 left in budget"])
    assert "Only coupons that can be issued now are listed" in page
    assert "지금 발급할 수 있는 쿠폰만" in text(marketer.get(ADD_URL, **KO))


# --- 8. naming a table ----------------------------------------------------------------------------


def test_a_badly_written_table_name_gives_an_example_from_the_source(marketer, coupon, members):
    response = marketer.post(ADD_URL, form(coupon, "members"))
    assert "for example warehouse.main.members" in response.context["adminform"].form.errors["table"][0]
    assert "warehouse.main.members" in text(marketer.get(ADD_URL))  # the field's help names a real table


def test_names_are_suggested_from_the_source_metadata_as_people_type(marketer, members, duckdb_source):
    duckdb_source("CREATE TABLE orders AS SELECT 1 AS order_id, 2::BIGINT AS buyer_id, 'a' AS note")
    url = reverse("admin:distribution_distributionrequest_names")

    def suggest(**query):
        return marketer.get(url, {"source": "demo", **query}).json()["suggestions"]

    assert suggest(table="ware") == ["warehouse."]
    assert suggest(table="warehouse.") == ["warehouse.main."]
    assert suggest(table="warehouse.main.") == ["warehouse.main.members", "warehouse.main.orders"]
    assert suggest(table="warehouse.main.orders", column="") == ["buyer_id", "order_id"]
    assert suggest(table="warehouse.main.orders", column="BU") == ["buyer_id"]
    assert suggest(table="warehouse.main.nope", column="") == []
    assert suggest(table="no.such.thing") == []


def test_name_suggestions_need_the_add_permission(client, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", password="pw-for-tests-only", is_staff=True)
    client.force_login(clerk)
    assert client.get(reverse("admin:distribution_distributionrequest_names")).status_code == 403


# --- 5. drafts ------------------------------------------------------------------------------------


def test_a_discarded_draft_is_its_own_status_left_out_of_the_default_list(marketer, coupon, members, staff_user):
    distribution = draft(staff_user, coupon)
    marketer.post(reverse("admin:distribution_distributionrequest_discard", args=[distribution.pk]))
    distribution.refresh_from_db()
    assert distribution.status == "discarded"
    assert f'data-request="{distribution.pk}"' not in text(marketer.get(LIST_URL))
    assert f'data-request="{distribution.pk}"' in text(marketer.get(LIST_URL, {"status": "discarded"}))
    assert f'data-request="{distribution.pk}"' in text(marketer.get(LIST_URL, {"status": "all"}))
    page = text(marketer.get(change_url(distribution)))
    assert "Discarded" in page and 'id="revoke"' not in page


def test_revoke_is_offered_only_when_something_was_issued(marketer, coupon, members, staff_user, duckdb_source):
    again = draft(staff_user, coupon, table=members)  # drafted while nobody held the coupon yet
    done = services.distribution_submit(
        distribution=DistributionRequest(coupon=coupon, source="demo", table=members, column="user_id", memo="m"),
        actor=by(staff_user),
    )
    again = services.distribution_submit(
        distribution=DistributionRequest(  # queued before the first ran: it finds everyone holding it, 0 issued
            coupon=coupon, source="demo", table=members, column="user_id", memo="m"
        ),
        actor=by(staff_user),
    )
    services.distribution_run_queue()
    assert 'id="revoke"' in text(marketer.get(change_url(done)))
    again.refresh_from_db()
    assert (again.status, again.issued_count) == ("succeeded", 0)
    assert 'id="revoke"' not in text(marketer.get(change_url(again)))
    assert not services.distribution_revoke(distribution=again, actor=by(staff_user))


# --- 3. live parts --------------------------------------------------------------------------------


def test_the_progress_endpoint_answers_every_live_part_and_the_buttons(marketer, coupon, members, staff_user):
    distribution = services.distribution_submit(
        distribution=DistributionRequest(coupon=coupon, source="demo", table=members, column="user_id", memo="m"),
        actor=by(staff_user),
    )
    url = reverse("admin:distribution_distributionrequest_progress")
    queued = marketer.get(url, {"ids": distribution.pk}).json()[str(distribution.pk)]
    assert queued["live"] and queued["fields"]["tools"] == "" and queued["fields"]["elapsed"] == "–"
    services.distribution_run_queue()
    done = marketer.get(url, {"ids": distribution.pk}).json()[str(distribution.pk)]
    fields = done["fields"]
    assert not done["live"] and (fields["status"], fields["issued"], fields["read"]) == ("Succeeded", "50", "50")
    assert 'id="revoke"' in fields["tools"] and "100%" in fields["progress"]
    assert marketer.get(url, {"ids": distribution.pk}, **KO).json()[str(distribution.pk)]["fields"]["status"] == "성공"
    page = text(marketer.get(change_url(distribution)))
    for part in ("status", "progress", "read", "issued", "skipped", "elapsed", "rate", "tools", "finished"):
        assert f'data-field="{part}"' in page, part


# --- 4. approval ----------------------------------------------------------------------------------


@pytest.fixture
def manager(client, django_user_model):
    user = django_user_model.objects.create_user("boss", password="pw-for-tests-only", is_staff=True)
    user.groups.add(Group.objects.get(name="manager"))
    return user


def awaiting(staff_user, coupon, settings):
    settings.DISTRIBUTION_APPROVAL_COUPONS, settings.DISTRIBUTION_APPROVAL_VALUE = 10, 100_000
    coupon.discount_kind, coupon.discount_amount = "amount", 5000
    coupon.save()
    distribution = draft(staff_user, coupon)
    services.distribution_confirm(distribution=distribution, actor=by(staff_user))
    distribution.refresh_from_db()
    assert distribution.status == "awaiting_approval"
    return distribution


def test_the_approval_page_says_why_what_is_at_stake_and_who_may_approve(
    client, coupon, members, staff_user, manager, settings
):
    distribution = awaiting(staff_user, coupon, settings)
    client.force_login(manager)
    page = text(client.get(change_url(distribution)))
    assert "It would issue 50 coupons; more than 10 need approval." in page
    assert "50 coupons × 5,000 KRW put 250,000 KRW at stake; more than 100,000 KRW needs approval." in page
    assert re.search(r'data-preview="value">250,000 KRW<', page)
    assert "Who may approve: boss" in page and 'id="approve"' in page and 'id="reject"' in page
    korean = text(client.get(change_url(distribution), **KO))
    assert "승인이 필요한 이유" in korean and "반려" in korean
    assert 'data-preview="value">250,000원<' in korean


def test_a_manager_rejects_with_a_reason_that_the_history_keeps(client, coupon, members, staff_user, manager, settings):
    distribution = awaiting(staff_user, coupon, settings)
    client.force_login(manager)
    reject = reverse("admin:distribution_distributionrequest_reject", args=[distribution.pk])
    assert "Say why" in text(client.post(reject, {"reason": " "}, follow=True))
    assert "Null characters are not allowed" in text(client.post(reject, {"reason": "a\x00b"}, follow=True))
    distribution.refresh_from_db()
    assert distribution.status == "awaiting_approval"
    client.post(reject, {"reason": "Wrong audience: VIPs only"})
    distribution.refresh_from_db()
    assert (distribution.status, distribution.rejected_by, distribution.cancelled_by) == ("rejected", manager, None)
    page = text(client.get(change_url(distribution)))
    assert "Rejected" in page and "Reason: Wrong audience: VIPs only" in page


def test_the_requester_sees_no_approve_or_reject_and_is_refused_by_the_service(
    marketer, coupon, members, staff_user, settings
):
    distribution = awaiting(staff_user, coupon, settings)
    page = text(marketer.get(change_url(distribution)))
    assert 'id="approve"' not in page and 'id="reject"' not in page
    marketer.post(reverse("admin:distribution_distributionrequest_reject", args=[distribution.pk]), {"reason": "mine"})
    distribution.refresh_from_db()
    assert distribution.status == "awaiting_approval"


# --- 10. the history, in the reader's language ------------------------------------------------------


def test_the_request_page_shows_its_history_in_the_readers_language(marketer, coupon, members, staff_user):
    distribution = services.distribution_submit(
        distribution=DistributionRequest(coupon=coupon, source="demo", table=members, column="user_id", memo="m"),
        actor=by(staff_user),
    )
    services.distribution_run_queue()
    english = text(marketer.get(change_url(distribution)))
    assert 'id="history"' in english
    for said in ("Drafted with a preview", "Confirmed", "Started", "Succeeded", "the system", "marketer"):
        assert said in english, said
    korean = text(marketer.get(change_url(distribution), **KO))
    for said in ("이 요청에 일어난 일", "미리보기와 함께 초안 작성", "확정", "시스템"):
        assert said in korean, said
    audit = text(marketer.get(reverse("admin:distribution_transition_changelist"), **KO))
    assert "미리보기와 함께 초안 작성" in audit and "read_count" not in audit  # words, not raw JSON


# --- 9. a cancelled run reports its time ------------------------------------------------------------


def test_a_run_cancelled_midway_keeps_its_elapsed_time_and_rate_for_the_list_and_slack(
    coupon, duckdb_source, staff_user, settings
):
    duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 101) t(i)")
    settings.DISTRIBUTION_CHUNK_SIZE, settings.DISTRIBUTION_CHUNK_PAUSE = 10, 0.01
    distribution = services.distribution_submit(
        distribution=DistributionRequest(
            coupon=coupon, source="demo", table="warehouse.main.members", column="user_id", memo="m"
        ),
        actor=by(staff_user),
    )
    claimed = services.distribution_claim_next()
    from distribution.writers import get_writer

    for ids in ([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]):
        services.distribution_issue_chunk(distribution=claimed, writer=get_writer(), user_ids=ids, elapsed=1.5)
    services.distribution_cancel(distribution=claimed, actor=by(staff_user))
    distribution.refresh_from_db()
    assert (distribution.status, distribution.issued_count, distribution.elapsed_seconds) == ("cancelled", 10, 1.5)
    assert round(distribution.rows_per_second) == 7
    message = slack.render("cancelled", distribution)["text"]
    assert "Elapsed: 1.5 s" in message and "Coupons per second: 7" in message


def test_a_request_cancelled_before_it_ran_reports_no_time(coupon, members, staff_user):
    distribution = services.distribution_submit(
        distribution=DistributionRequest(coupon=coupon, source="demo", table=members, column="user_id", memo="m"),
        actor=by(staff_user),
    )
    services.distribution_cancel(distribution=distribution, actor=by(staff_user))
    distribution.refresh_from_db()
    assert "Elapsed" not in slack.render("cancelled", distribution)["text"]


# --- 11. exports for people -----------------------------------------------------------------------


def test_the_export_has_translated_headers_status_words_plain_numbers_and_who_decided(
    marketer, coupon, duckdb_source, staff_user
):
    duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 1235) t(i)")
    services.distribution_submit(
        distribution=DistributionRequest(
            coupon=coupon, source="demo", table="warehouse.main.members", column="user_id", memo="spring"
        ),
        actor=by(staff_user),
    )
    services.distribution_run_queue()
    export = reverse("admin:distribution_distributionrequest_export")
    page = text(marketer.get(export))
    assert "the list's filters and search apply" in page
    response = marketer.post(export, {"format": "0", **export_fields()})
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    row = rows[0]
    assert (row["Status"], row["Coupon code"], row["Issued"], row["Confirmed by"]) == (
        "Succeeded",
        "SPRING10",
        "1234",
        "marketer",
    )
    assert re.fullmatch(r"\d+(\.\d)?", row["Elapsed (s)"]) and "1234" in response.content.decode()
    korean = marketer.post(export, {"format": "1", **export_fields()}, **KO)
    sheet = openpyxl.load_workbook(io.BytesIO(korean.content)).active
    headers = [cell.value for cell in sheet[1]]
    assert "상태" in headers and "발급 건수" in headers and "확정한 사람" in headers
    values = dict(zip(headers, [cell.value for cell in sheet[2]], strict=False))
    assert values["상태"] == "성공" and values["발급 건수"] == 1234


def test_exports_are_named_in_the_readers_language_and_the_sites_day_with_a_sheet_name_and_date_cells(
    marketer, coupon, members, staff_user
):
    distribution = draft(staff_user, coupon)
    export, today = reverse("admin:distribution_distributionrequest_export"), timezone.localdate().isoformat()
    english = marketer.post(export, {"format": "0", **export_fields()})
    assert f'filename="Distribution requests-{today}.csv"' in english["Content-Disposition"]
    assert "Reason for rejecting" in english.content.decode("utf-8-sig").splitlines()[0]
    korean = marketer.post(export, {"format": "1", **export_fields()}, **KO)
    assert f"filename*=utf-8''{quote('배포 요청')}-{today}.xlsx" in korean["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(korean.content)).active
    assert sheet.title == "배포 요청"
    created = sheet.cell(row=2, column=[cell.value for cell in sheet[1]].index("요청 시각") + 1)
    local = timezone.localtime(distribution.created_at).replace(tzinfo=None)  # the site's time, as Excel has no zones
    assert created.is_date and abs((created.value - local).total_seconds()) < 1


def export_fields():
    from distribution.resources import DistributionRequestResource

    return {f"distributionrequestresource_{name}": "on" for name in DistributionRequestResource.Meta.fields}


# --- 12. roles, words ------------------------------------------------------------------------------


def test_each_role_is_a_group_with_exactly_its_permissions_and_the_command_sets_it_back(db):
    marketer = Group.objects.get(name="marketer")
    marketer.permissions.add(Permission.objects.get(codename="revoke_distributionrequest"))
    marketer.permissions.remove(Permission.objects.get(codename="add_distributionrequest"))
    call_command("setup_roles", stdout=io.StringIO())
    for name, codes in ROLES.items():
        group = Group.objects.get(name=name)
        held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert held == set(codes), name


def test_the_task_tables_are_for_superusers_only(client, django_user_model, staff_user):
    boss = django_user_model.objects.create_user("boss", password="pw-for-tests-only", is_staff=True)
    boss.groups.add(Group.objects.get(name="manager"))
    boss.user_permissions.add(*Permission.objects.filter(content_type__app_label="django_q"))
    client.force_login(boss)
    assert "django_q" not in text(client.get(reverse("admin:index")))
    assert client.get(reverse("admin:django_q_schedule_changelist")).status_code == 403
    client.force_login(staff_user)  # a superuser
    assert "django_q" in text(client.get(reverse("admin:index")))


def test_a_support_agent_reaches_the_look_up_and_reads_requests(client, django_user_model):
    agent = django_user_model.objects.create_user("help", password="pw-for-tests-only", is_staff=True)
    agent.groups.add(Group.objects.get(name="support"))
    client.force_login(agent)
    assert client.get(reverse("admin:distribution_issuedcoupon_list")).status_code == 200
    assert client.get(LIST_URL).status_code == 200 and client.get(ADD_URL).status_code == 403


def test_pages_use_plain_words_in_english_and_korean(marketer, coupon, members, staff_user):
    distribution = draft(staff_user, coupon)
    services.distribution_confirm(distribution=distribution, actor=by(staff_user))
    listing = text(marketer.get(LIST_URL))
    assert "Select distribution request to change" not in listing and "<h1>Distribution requests</h1>" in listing
    assert "Rows/s" not in listing and "rows/s" not in listing
    page = text(marketer.get(change_url(distribution), **KO))
    for wrong in ("뷰 ", "원천", "체크포인트", "아래 내용을 수정해야 합니다"):
        assert wrong not in page, wrong
    added = text(marketer.post(ADD_URL, form(coupon, members), follow=True, **KO))
    assert "아래 내용을 수정해야 합니다" not in added and "초안으로 저장했습니다" in added
    assert "사용 중" not in text(marketer.get(reverse("admin:distribution_coupon_changelist"), **KO))


# --- 13. the list a manager scans -----------------------------------------------------------------


def test_the_list_finds_a_request_by_coupon_name_and_shows_times_to_the_second(marketer, coupon, members, staff_user):
    distribution = draft(staff_user, coupon)
    found = text(marketer.get(LIST_URL, {"q": "Spring 10"}))
    assert f'data-request="{distribution.pk}"' in found
    assert f'data-request="{distribution.pk}"' not in text(marketer.get(LIST_URL, {"q": "Autumn"}))
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", found)
    headers = re.findall(r'<th scope="col"\s+class="[^"]*column-(\w+)', marketer.get(LIST_URL).content.decode())
    assert len(headers) <= 10, headers


# --- 14. make demo -------------------------------------------------------------------------------


def test_the_demo_login_keeps_its_password_across_runs_and_is_written_to_show_last(db, tmp_path, settings, monkeypatch):
    warehouse = tmp_path / "demo.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE TABLE members AS SELECT i AS member_id FROM range(1, 21) t(i)")
    settings.COUPONOPS_SOURCES = {**settings.COUPONOPS_SOURCES, "demo": {"kind": "duckdb", "path": str(warehouse)}}
    settings.VAR_DIR = tmp_path
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    call_command("setup_demo", stdout=io.StringIO())
    first = (tmp_path / "demo-password").read_text()
    hashed = get_user_model().objects.get(username="admin").password
    call_command("setup_demo", stdout=io.StringIO())
    assert (tmp_path / "demo-password").read_text() == first
    assert get_user_model().objects.get(username="admin").password == hashed  # open tabs stay logged in
    assert get_user_model().objects.get(username="admin").check_password(first)
    login = (tmp_path / "demo-login.txt").read_text()
    assert f"Password  {first}" in login and "http://127.0.0.1:8000/admin/" in login


def test_errors_are_logged_once_and_no_page_asks_for_a_missing_favicon(client, db):
    assert logging.getLogger("django").handlers == [] and logging.getLogger("django").propagate
    assert logging.getLogger("django.request").handlers == []  # the root's handler prints it, once
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("distribution/favicon.svg")


# --- 14. an address no query can carry ------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        f"{LIST_URL}?status=%00",
        f"{LIST_URL}?q=a%00b",
        f"{LIST_URL}?source__exact=%00",
        reverse("admin:distribution_issuedcoupon_list") + "?request=%00",
        reverse("admin:distribution_issuedcoupon_member") + "?user_id=1&code=SPRING%00",
        reverse("admin:distribution_coupon_changelist") + "?discount_kind__exact=%00",
        "/admin/distribution/coupon/1%00/change/",
    ],
)
def test_a_nul_character_in_the_address_is_a_clear_page_never_a_server_error(marketer, coupon, url):
    # PostgreSQL refuses NUL in text: before, `?status=%00` reached the filter and ended on a 500 page.
    response = marketer.get(url)
    assert response.status_code == 400
    assert "The address contains a NUL character" in text(response) and "Bad request" in text(response)
    assert "주소에 NUL 문자가 들어 있어" in text(marketer.get(url, **KO))


@pytest.mark.parametrize(
    "url",
    [
        reverse("admin:distribution_issuedcoupon_list") + "?user_id=²",
        reverse("admin:distribution_issuedcoupon_list") + "?coupon=²&request=²",
        reverse("admin:distribution_distributionrequest_progress") + "?ids=²,1",
    ],
)
def test_digits_python_cannot_read_as_a_number_are_not_a_server_error(marketer, coupon, url):
    # `"²".isdigit()` is true but int("²") fails: the pages check with isdecimal.
    assert marketer.get(url).status_code == 200


def test_a_request_history_address_with_no_request_redirects(marketer):
    for object_id in ("abc", "999999"):
        url = reverse("admin:distribution_distributionrequest_history", args=[object_id])
        assert marketer.get(url).status_code == 302


@pytest.mark.parametrize(
    "query", ["created_at__gte=garbage", "format=99", "created_at__day=31&created_at__month=2&created_at__year=2026"]
)
def test_an_export_with_filters_that_cannot_be_read_says_so_and_exports_nothing(marketer, query):
    export = reverse("admin:distribution_distributionrequest_export")
    answer = marketer.get(f"{export}?{query}", follow=True, **KO)
    assert answer.redirect_chain[-1][0] == LIST_URL
    assert "주소에 담긴 필터가 올바르지 않아 아무것도 내보내지 않았습니다" in text(answer)


COUPON = {
    "name": "Spring",
    "code": "SPRING-2",
    "discount_kind": "percent",
    "discount_amount": "10",
    "valid_days": "14",
    "is_active": "on",
}


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("valid_days", "0", "greater than or equal to 1"),
        ("valid_days", "2147483647", "less than or equal to 36500"),
        ("discount_amount", "150", "A percent discount is at most 100."),
        ("discount_amount", "-5", "greater than or equal to 0.01"),
        ("code", "웰컴/1", "cannot contain spaces or slashes"),
        ("code", "TWO WORDS", "cannot contain spaces or slashes"),
    ],
)
def test_a_coupon_the_api_or_the_calendar_could_not_use_is_a_form_error(admin_client, field, value, message):
    # Before, 2147483647 days failed each issue with an OverflowError, and a code with a slash was unreachable.
    page = admin_client.post(reverse("admin:distribution_coupon_add"), {**COUPON, field: value})
    assert page.status_code == 200 and message in text(page)
    assert not Coupon.objects.filter(name="Spring").exists()


def test_imported_coupons_follow_the_forms_rules(db):
    rows = tablib.Dataset(headers=["code", "name", "discount_kind", "discount_amount", "valid_days", "is_active"])
    rows.append(["BOGUS", "Bogus", "bogus", "5", "7", "1"])
    rows.append(["LONG", "Long", "amount", "5", "99999", "1"])
    result = CouponResource().import_data(rows, dry_run=False)
    assert result.has_validation_errors() and not Coupon.objects.exists()
    # Each error names its column as the import's preview does, in the reader's language.
    assert set(result.invalid_rows[0].field_specific_errors) == {"Discount kind"}
    assert set(result.invalid_rows[1].field_specific_errors) == {"Valid for (days)"}


def test_a_start_in_another_year_shows_its_year_and_an_elapsed_time_is_rounded(db):
    later = timezone.now() + timedelta(days=400)
    assert str(timezone.localtime(later).year) in live.start_time(later)
    assert live.elapsed(DistributionRequest(elapsed_seconds=0.0907)) == "0.1 s"


@pytest.mark.parametrize(
    "url, english, korean",
    [
        ("admin:distribution_coupon_changelist", "Coupons", "쿠폰"),
        ("admin:distribution_transition_changelist", "Transitions", None),
        ("admin:campaigns_schedule_changelist", "Schedules", None),
    ],
)
def test_every_list_is_headed_by_what_it_lists(admin_client, url, english, korean):
    """Not Django's "Select coupon to change": a marketer opens a list to read it."""
    listing = text(admin_client.get(reverse(url)))
    assert f"<h1>{english}</h1>" in listing and "to change" not in listing and "to view" not in listing
    if korean:
        assert f"<h1>{korean}</h1>" in text(admin_client.get(reverse(url), **KO))
