"""The admin as a marketer and a manager use it, through Django's test client."""

import re

from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_q.models import OrmQ

from distribution import services
from distribution.models import DistributionRequest

ADD_URL = "admin:distribution_distributionrequest_add"


def post_request(client, coupon, table, column, **extra):
    data = {"coupon": coupon.pk, "source": "demo", "table": table, "column": column, "memo": "spring campaign"}
    return client.post(reverse(ADD_URL), {**data, **extra}, **extra.pop("headers", {}))


def post_and_confirm(client, coupon, table, column):
    """Submits the add form, then confirms the draft it made, as the marketer does."""
    post_request(client, coupon, table, column)
    distribution = DistributionRequest.objects.latest("pk")
    client.post(reverse("admin:distribution_distributionrequest_confirm", args=[distribution.pk]))
    return distribution


def test_a_wrong_column_is_a_form_error_and_nothing_is_queued(marketer, coupon, members):
    response = post_request(marketer, coupon, members, "member_no")
    assert response.status_code == 200
    assert "Column “member_no” does not exist in members." in response.content.decode()
    assert not DistributionRequest.objects.exists() and not OrmQ.objects.exists()


def test_a_wrong_table_is_a_form_error(marketer, coupon, members):
    response = post_request(marketer, coupon, "warehouse.main.membres", "user_id")
    assert "Table “membres” does not exist." in response.content.decode()


def test_a_text_column_is_refused_in_korean_for_a_korean_browser(marketer, coupon, members):
    response = marketer.post(
        reverse(ADD_URL),
        {"coupon": coupon.pk, "source": "demo", "table": members, "column": "name", "memo": "m"},
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    assert "회원 ID는 정수여야 합니다" in response.content.decode()


def test_submitting_makes_a_draft_and_confirming_queues_it_at_once(
    marketer, coupon, members, staff_user, django_capture_on_commit_callbacks
):
    response = post_request(marketer, coupon, members, "user_id")
    distribution = DistributionRequest.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{distribution.pk}/change/")
    assert (distribution.status, distribution.target_count, distribution.requested_by) == ("draft", 50, staff_user)
    assert not OrmQ.objects.exists()
    page = marketer.get(response["Location"]).content.decode()
    assert 'id="confirm"' in page and 'data-preview="would-issue">50<' in page
    with django_capture_on_commit_callbacks(execute=True):
        marketer.post(reverse("admin:distribution_distributionrequest_confirm", args=[distribution.pk]))
    distribution.refresh_from_db()
    assert (distribution.status, distribution.confirmed_by) == ("queued", staff_user)
    assert OrmQ.objects.count() == 1  # the worker's wake-up task; the distribution itself waits in the table


def test_a_submitted_request_is_read_only(marketer, coupon, members, django_capture_on_commit_callbacks):
    post_request(marketer, coupon, members, "user_id")
    distribution = DistributionRequest.objects.get()
    page = marketer.get(reverse("admin:distribution_distributionrequest_change", args=[distribution.pk]))
    assert page.status_code == 200
    assert 'name="table"' not in page.content.decode()
    response = marketer.post(
        reverse("admin:distribution_distributionrequest_change", args=[distribution.pk]), {"table": "other.a.b"}
    )
    assert response.status_code == 403


def test_the_request_list_shows_progress_and_counts(marketer, coupon, members):
    post_request(marketer, coupon, members, "user_id")
    page = marketer.get(reverse("admin:distribution_distributionrequest_changelist"))
    assert page.status_code == 200
    assert "<progress" in page.content.decode()


def test_issued_coupons_are_listed_by_key_without_counting(marketer, coupon, members):
    post_and_confirm(marketer, coupon, members, "user_id")
    distribution = DistributionRequest.objects.get()
    services.distribution_run_queue()
    url = reverse("admin:distribution_issuedcoupon_list")
    with CaptureQueriesContext(connection) as queries:
        page = marketer.get(url, {"request": distribution.pk})
    body = page.content.decode()
    assert page.status_code == 200 and "Next page" not in body and body.count('class="issued-row') == 50
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "issuedcoupon" in q["sql"]]
    filtered = marketer.get(url, {"user_id": 7}).content.decode()
    assert filtered.count('class="issued-row') == 1


def test_issued_coupons_page_forward_by_key(marketer, coupon, members, settings):
    post_and_confirm(marketer, coupon, members, "user_id")
    services.distribution_run_queue()
    settings.ADMIN_ISSUED_COUPONS_PER_PAGE = 20
    url = reverse("admin:distribution_issuedcoupon_list")
    page1 = marketer.get(url, {"coupon": coupon.pk}).content.decode()
    after = re.search(r'href="\?([^"]*after=[^"]*)"', page1).group(1).replace("&amp;", "&")
    page2 = marketer.get(f"{url}?{after}").content.decode()
    assert listed_user_ids(page1) == list(range(1, 21)) and "Next page" in page1
    assert listed_user_ids(page2) == list(range(21, 41))


def listed_user_ids(page):
    return [int(n) for n in re.findall(r'<td class="user-id">(\d+)</td>', page)]


def test_anonymous_users_are_sent_to_login(client):
    response = client.get(reverse(ADD_URL))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_cancel_action_cancels_a_queued_request(marketer, coupon, members, staff_user):
    distribution = post_and_confirm(marketer, coupon, members, "user_id")
    response = marketer.post(
        reverse("admin:distribution_distributionrequest_changelist"),
        {"action": "cancel", "_selected_action": [distribution.pk], "post": "yes"},  # "Yes" on the confirmation page
    )
    assert response.status_code == 302
    distribution.refresh_from_db()
    assert (distribution.status, distribution.cancelled_by) == ("cancelled", staff_user)


def test_without_the_cancel_permission_the_action_does_nothing(client, coupon, members, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", password="pw-for-tests-only", is_staff=True)
    for codename in ("view_distributionrequest", "change_distributionrequest", "add_distributionrequest"):
        clerk.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(clerk)
    post_and_confirm(client, coupon, members, "user_id")
    distribution = DistributionRequest.objects.get()
    changelist = reverse("admin:distribution_distributionrequest_changelist")
    assert 'value="cancel"' not in client.get(changelist).content.decode()
    client.post(changelist, {"action": "cancel", "_selected_action": [distribution.pk], "post": "yes"})
    distribution.refresh_from_db()
    assert distribution.status == "queued"


def test_an_empty_table_is_a_form_error(marketer, coupon, duckdb_source):
    duckdb_source("CREATE TABLE nobody AS SELECT CAST(NULL AS BIGINT) AS user_id")
    response = post_request(marketer, coupon, "warehouse.main.nobody", "user_id")
    assert "has no valid user ids" in response.content.decode()
    assert not DistributionRequest.objects.exists()


def test_the_progress_endpoint_reports_each_request(marketer, coupon, members):
    post_and_confirm(marketer, coupon, members, "user_id")
    distribution = DistributionRequest.objects.get()
    services.distribution_claim_next()
    DistributionRequest.objects.filter(pk=distribution.pk).update(read_count=25)
    url = reverse("admin:distribution_distributionrequest_progress")
    state = marketer.get(url, {"ids": f"{distribution.pk},abc"}).json()[str(distribution.pk)]
    assert (state["status"], state["live"], state["percent"]) == ("running", True, 50)
    fields = state["fields"]
    assert "25 / 50" in fields["progress"] and "per second" in fields["progress"]
    assert (fields["status"], fields["read"]) == ("Running", "25")
    assert 'id="pause"' in fields["tools"]  # a running request may be paused (docs/throttle.md)
    page = marketer.get(reverse("admin:distribution_distributionrequest_changelist")).content.decode()
    assert "distribution/progress.js" in page and f'data-request="{distribution.pk}"' in page


def test_the_progress_endpoint_needs_view_permission(client, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", password="pw-for-tests-only", is_staff=True)
    client.force_login(clerk)
    assert client.get(reverse("admin:distribution_distributionrequest_progress")).status_code == 403
