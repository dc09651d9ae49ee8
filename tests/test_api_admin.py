"""The Coupon API in the admin: clients and their keys, the issue-call history, redeems on the issued-coupon page."""

import json
import re

import pytest
from django.urls import reverse
from django.utils import translation

from api.models import ApiClient, IssueCall
from distribution.models import IssuedCoupon
from tests.api_helpers import bearer, hold

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, staff_user):
    client.force_login(staff_user)
    return client


def test_a_client_added_in_the_admin_gets_a_key_shown_once_that_works(admin_client, client, coupon):
    response = admin_client.post(reverse("admin:api_apiclient_add"), {"name": "storefront", "scopes": ["read"]})

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    key = re.search(r'<code id="api-key"[^>]*>([^<]+)</code>', response.content.decode()).group(1)
    owner = ApiClient.objects.get()
    assert (owner.name, owner.scopes, owner.created_by.username) == ("storefront", ["read"], "marketer")
    assert key.startswith(f"cpo_{owner.key_prefix}_")
    assert admin_client.get(reverse("admin:api_apiclient_change", args=[owner.pk])).content.decode().count(key) == 0
    assert client.get("/api/v1/members/1/coupons", **bearer(key)).status_code == 200


def test_revoking_a_client_in_the_admin_stops_its_key(admin_client, client, coupon):
    admin_client.post(reverse("admin:api_apiclient_add"), {"name": "crm", "scopes": ["read", "issue"]})
    owner = ApiClient.objects.get()
    from api import services

    _other, key = services.api_client_create(name="checkout", scopes=["read"])
    admin_client.post(
        reverse("admin:api_apiclient_changelist"),
        {"action": "revoke_keys", "_selected_action": [ApiClient.objects.get(name="checkout").pk]},
    )
    assert client.get("/api/v1/members/1/coupons", **bearer(key)).json()["error"]["code"] == "key_revoked"
    owner.refresh_from_db()
    assert owner.is_active and not ApiClient.objects.get(name="checkout").is_active


def test_the_issue_call_history_and_the_issued_coupon_page_show_where_a_coupon_came_from_and_who_used_it(
    admin_client, client, coupon
):
    from api import services

    _owner, key = services.api_client_create(name="storefront", scopes=["issue", "redeem"])
    client.post(
        "/api/v1/coupons/SPRING10/issue",
        json.dumps({"user_ids": [5]}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="welcome-5",
        **bearer(key),
    )
    hold(coupon, 6)
    client.post(
        "/api/v1/members/6/coupons/SPRING10/redeem",
        json.dumps({"order_id": "ORD-77"}),
        content_type="application/json",
        **bearer(key),
    )

    history = admin_client.get(reverse("admin:api_issuecall_changelist")).content.decode()
    assert "welcome-5" in history and "storefront" in history
    page = admin_client.get(reverse("admin:distribution_issuedcoupon_list"), {"coupon": coupon.pk}).content.decode()
    rows = re.findall(r'<tr class="issued-row[^"]*">(.*?)</tr>', page, re.S)
    api_row, redeemed_row = rows
    assert re.search(r'class="issued-by"><a href="[^"]+">API: storefront</a>', api_row)
    assert 'class="order-id">ORD-77<' in redeemed_row and 'class="redeemed-by">storefront<' in redeemed_row
    assert IssueCall.objects.get().issued_count == 1 == IssuedCoupon.objects.filter(issue_call__isnull=False).count()


def test_the_api_admin_speaks_korean(admin_client):
    with translation.override("ko"):
        page = admin_client.get(reverse("admin:api_apiclient_add"), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "API 클라이언트" in page and "쿠폰 발급" in page
