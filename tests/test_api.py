"""The Coupon API through Django's test client: the contract, the bad-input and the auth matrix."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from api.models import ApiClient, IdempotencyKey, IssueCall
from distribution.models import Coupon, IssuedCoupon
from tests.api_helpers import api_key, bearer, hold

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(db):
    return api_key()[1]


def post(client, url, body, key, **headers):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(url, data, content_type="application/json", **bearer(key), **headers)


def issue(client, key, ids, code="SPRING10", idempotency="call-1"):
    return post(client, f"/api/v1/coupons/{code}/issue", {"user_ids": ids}, key, HTTP_IDEMPOTENCY_KEY=idempotency)


def error_of(response):
    return response.status_code, response.json()["error"]["code"]


# --- issue ---------------------------------------------------------------------------------------


def test_an_issue_call_issues_reports_held_and_invalid_ids_and_records_where_each_coupon_came_from(client, key, coupon):
    hold(coupon, 7)
    response = issue(client, key, [5, 7, 3, 0, -4, 5, 2**63])

    assert response.status_code == 200
    assert response.json() == {"issued": 2, "reissued": 0, "already_held": 1, "held_out": [], "invalid": [0, -4, 2**63]}
    call = IssueCall.objects.get()
    assert (call.client.name, call.coupon, call.idempotency_key) == ("storefront", coupon, "call-1")
    assert (call.issued_count, call.already_held_count, call.invalid_count) == (2, 1, 3)
    rows = IssuedCoupon.objects.filter(coupon=coupon, user_id__in=[3, 5]).order_by("user_id")
    assert [(row.user_id, row.issue_call_id, row.distribution_id) for row in rows] == [
        (3, call.pk, None),
        (5, call.pk, None),
    ]
    assert rows[0].expires_at == rows[0].issued_at + timedelta(days=coupon.valid_days)


def test_the_same_key_and_body_gives_the_stored_answer_and_issues_nothing_more(client, key, coupon):
    first = issue(client, key, [1, 2, 3])
    IssuedCoupon.objects.filter(coupon=coupon, user_id=3).update(deleted_at=timezone.now())  # changes nothing
    again = issue(client, key, [1, 2, 3])

    assert again.status_code == 200 and again.json() == first.json() == {
        "issued": 3,
        "reissued": 0,
        "already_held": 0,
        "held_out": [],
        "invalid": [],
    }
    assert IssueCall.objects.count() == 1 and IssuedCoupon.objects.count() == 3


def test_the_same_key_with_another_body_is_refused(client, key, coupon):
    issue(client, key, [1, 2, 3])
    assert error_of(issue(client, key, [1, 2, 4])) == (422, "idempotency_key_reused")
    Coupon.objects.create(name="Other", code="OTHER", discount_kind="percent", discount_amount=5, valid_days=7)
    assert error_of(issue(client, key, [1, 2, 3], code="OTHER")) == (422, "idempotency_key_reused")
    assert IssuedCoupon.objects.count() == 3


def test_a_key_claimed_by_a_running_call_is_409_and_a_dead_calls_claim_is_taken_over(client, key, coupon, settings):
    owner = ApiClient.objects.get()
    from api.views import fingerprint  # the fingerprint of the very call below

    body = json.dumps({"user_ids": [1]}).encode()
    fake = type("R", (), {"method": "POST", "path": "/api/v1/coupons/SPRING10/issue", "body": body})
    IdempotencyKey.objects.create(client=owner, key="call-1", fingerprint=fingerprint(fake), claimed_at=timezone.now())

    assert error_of(issue(client, key, [1])) == (409, "idempotency_key_in_progress")
    IdempotencyKey.objects.update(claimed_at=timezone.now() - timedelta(seconds=settings.API_IDEMPOTENCY_STALE_AFTER))
    assert issue(client, key, [1]).json()["issued"] == 1
    assert IdempotencyKey.objects.get().attempts == 2


def test_keys_are_per_client(client, key, coupon):
    other_key = api_key("crm")[1]
    issue(client, key, [1, 2])
    assert issue(client, other_key, [2, 3]).json() == {
        "issued": 1,
        "reissued": 0,
        "already_held": 1,
        "held_out": [],
        "invalid": [],
    }


def test_a_refused_call_issues_nothing_and_its_key_may_be_used_again(client, key, coupon):
    coupon.is_active = False
    coupon.save()
    response = issue(client, key, [1, 2])
    assert error_of(response) == (409, "coupon_not_issuable")
    assert "SPRING10" in response.json()["error"]["message"]
    coupon.is_active = True
    coupon.save()
    assert issue(client, key, [1, 2]).json()["issued"] == 2


def test_an_expired_coupon_is_not_issued(client, key, coupon):
    coupon.issue_until = timezone.now() - timedelta(minutes=1)
    coupon.save()
    assert error_of(issue(client, key, [1])) == (409, "coupon_not_issuable")
    assert not IssuedCoupon.objects.exists() and not IssueCall.objects.exists()


def test_the_budget_counts_api_calls_and_distributions_and_is_never_exceeded(client, key, coupon):
    coupon.budget = 5
    coupon.save()
    hold(coupon, 100, 101)  # a distribution issued 2
    assert issue(client, key, [1, 2], idempotency="a").json()["issued"] == 2
    assert coupon.issued_so_far() == 4 and coupon.budget_left() == 1

    refused = issue(client, key, [3, 4], idempotency="b")
    assert error_of(refused) == (409, "budget_exceeded")
    assert "1" in refused.json()["error"]["message"]
    assert IssuedCoupon.objects.count() == 4
    assert issue(client, key, [3, 1], idempotency="c").json() == {
        "issued": 1,
        "reissued": 0,
        "already_held": 1,
        "held_out": [],
        "invalid": [],
    }


@pytest.mark.parametrize(
    "body, code",
    [
        ('{"user_ids": [1, 2', "malformed_json"),
        ("not json at all", "malformed_json"),
        ('{"user_ids": ["7"]}', "invalid_request"),
        ('{"user_ids": [1.5]}', "invalid_request"),
        ('{"user_ids": [true]}', "invalid_request"),
        ('{"user_ids": [null]}', "invalid_request"),
        ('{"user_ids": "1,2"}', "invalid_request"),
        ('{"user_ids": []}', "invalid_request"),
        ('{"ids": [1]}', "invalid_request"),
        ("[1, 2]", "invalid_request"),
    ],
)
def test_a_malformed_issue_body_is_a_clear_error_and_nothing_is_issued(client, key, coupon, body, code):
    response = post(client, "/api/v1/coupons/SPRING10/issue", body, key, HTTP_IDEMPOTENCY_KEY="k")
    assert error_of(response)[1] == code
    assert response.status_code == (400 if code == "malformed_json" else 422)
    assert response.json()["error"]["message"]
    assert not IssuedCoupon.objects.exists() and not IdempotencyKey.objects.exists()


def test_too_many_ids_or_too_large_a_body_is_refused(client, key, coupon, settings):
    settings.API_ISSUE_MAX_IDS = 3
    assert error_of(issue(client, key, [1, 2, 3, 4])) == (422, "too_many_ids")
    settings.API_MAX_BODY_BYTES = 100
    assert error_of(issue(client, key, list(range(1, 40)))) == (413, "body_too_large")
    assert not IssuedCoupon.objects.exists()


def test_an_issue_call_needs_an_idempotency_key(client, key, coupon):
    response = post(client, "/api/v1/coupons/SPRING10/issue", {"user_ids": [1]}, key)
    assert error_of(response) == (400, "idempotency_key_required")
    assert error_of(issue(client, key, [1], idempotency="x" * 256)) == (400, "idempotency_key_required")


def test_a_nul_character_anywhere_is_a_clear_error_never_a_server_error(client, key, coupon):
    # PostgreSQL cannot hold NUL in text; each of these reached a query and answered 500 before.
    hold(coupon, 1)
    assert error_of(issue(client, key, [1], code="SPRING%00")) == (400, "invalid_request")
    assert error_of(issue(client, key, [1], idempotency="a\x00b")) == (400, "idempotency_key_required")
    assert error_of(client.get("/api/v1/members/1/coupons?status=%00", **bearer(key))) == (400, "invalid_request")
    assert error_of(client.get("/api/v1/members/1/coupons", HTTP_AUTHORIZATION="Bearer cpo_a\x00b_c")) == (
        401,
        "unauthorized",
    )
    assert not IdempotencyKey.objects.exists() and IssuedCoupon.objects.get().used_at is None


def test_an_unknown_coupon_is_404(client, key):
    assert error_of(issue(client, key, [1], code="NOPE")) == (404, "unknown_coupon")
    assert not IdempotencyKey.objects.exists()


# --- auth ----------------------------------------------------------------------------------------

CALLS = [
    ("post", "/api/v1/coupons/SPRING10/issue", {"user_ids": [1]}, "issue"),
    ("get", "/api/v1/members/1/coupons", None, "read"),
    ("post", "/api/v1/members/1/coupons/SPRING10/redeem", {"order_id": "o-1"}, "redeem"),
    ("post", "/api/v1/members/1/coupons/SPRING10/release", {"order_id": "o-1"}, "redeem"),
]


def call(client, method, url, body, headers):
    if method == "get":
        return client.get(url, **headers)
    return client.post(url, json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k", **headers)


@pytest.mark.parametrize("method, url, body, scope", CALLS)
def test_every_call_needs_a_valid_key_with_its_scope(client, coupon, method, url, body, scope):
    hold(coupon, 1)
    owner, key = api_key(scopes=[s for s in ("issue", "read", "redeem") if s != scope])
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for headers, expected in [
        ({}, (401, "unauthorized")),
        ({"HTTP_AUTHORIZATION": "Basic dXNlcjpwdw=="}, (401, "unauthorized")),
        (bearer("not-a-key"), (401, "unauthorized")),
        (bearer(wrong), (401, "unauthorized")),
        (bearer(key), (403, "missing_scope")),
    ]:
        assert error_of(call(client, method, url, body, headers)) == expected, headers
    owner.scopes = [scope]
    owner.save()
    assert call(client, method, url, body, bearer(key)).status_code == 200
    ApiClient.objects.filter(pk=owner.pk).update(is_active=False)
    assert error_of(call(client, method, url, body, bearer(key))) == (401, "key_revoked")


def test_a_key_is_stored_only_as_a_hash_and_last_use_is_recorded(client, coupon):
    owner, key = api_key()
    assert key.startswith(f"cpo_{owner.key_prefix}_") and len(key) > 40
    assert key not in json.dumps(list(ApiClient.objects.values()), default=str)
    assert owner.last_used_at is None
    client.get("/api/v1/members/1/coupons", **bearer(key))
    owner.refresh_from_db()
    assert owner.last_used_at is not None


def test_the_api_needs_no_session_or_csrf_token(coupon, key):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert issue(strict, key, [1]).status_code == 200


def test_create_api_key_prints_the_key_once(capsys, coupon, client):
    call_command("create_api_key", "checkout", "--scopes", "read,redeem")
    key = capsys.readouterr().out.strip()
    owner = ApiClient.objects.get(name="checkout")
    assert owner.scopes == ["read", "redeem"] and key.startswith(f"cpo_{owner.key_prefix}_")
    assert client.get("/api/v1/members/1/coupons", **bearer(key)).status_code == 200


# --- wallet --------------------------------------------------------------------------------------


def test_the_wallet_lists_live_coupons_and_with_status_all_every_one_with_its_state(client, key, coupon):
    other = Coupon.objects.create(
        name="Used one", code="USED", discount_kind="amount", discount_amount=3000, valid_days=7
    )
    gone = Coupon.objects.create(
        name="Revoked one", code="GONE", discount_kind="percent", discount_amount=5, valid_days=7
    )
    hold(coupon, 42)
    hold(other, 42, used_at=timezone.now(), order_id="o-9")
    hold(gone, 42, deleted_at=timezone.now())
    hold(coupon, 43)

    live = client.get("/api/v1/members/42/coupons", **bearer(key)).json()
    assert live["user_id"] == 42
    assert [(c["code"], c["name"], c["discount"], c["status"]) for c in live["coupons"]] == [
        ("SPRING10", "Spring 10%", {"kind": "percent", "amount": "10.00"}, "usable")
    ]
    every = client.get("/api/v1/members/42/coupons?status=all", **bearer(key)).json()
    assert sorted((c["code"], c["status"]) for c in every["coupons"]) == [
        ("GONE", "revoked"),
        ("SPRING10", "usable"),
        ("USED", "used"),
    ]
    assert client.get("/api/v1/members/7/coupons", **bearer(key)).json() == {"user_id": 7, "coupons": []}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/members/abc/coupons",
        "/api/v1/members/0/coupons",
        "/api/v1/members/-3/coupons",
        f"/api/v1/members/{2**63}/coupons",
        "/api/v1/members/1/coupons?status=everything",
    ],
)
def test_a_wallet_call_with_a_bad_id_or_status_is_a_clear_error(client, key, path):
    assert error_of(client.get(path, **bearer(key))) == (422, "invalid_request")


# --- redeem and release --------------------------------------------------------------------------


def redeem(client, key, user_id, order, code="SPRING10", action="redeem"):
    return post(client, f"/api/v1/members/{user_id}/coupons/{code}/{action}", {"order_id": order}, key)


def test_a_redeem_marks_the_coupon_used_by_the_order_and_client(client, key, coupon, caplog):
    hold(coupon, 42)
    with caplog.at_level("INFO", logger="couponops.api"):
        response = redeem(client, key, 42, "order-1")
    assert [r.getMessage() for r in caplog.records if r.name == "couponops.api"] == [
        "API redeem: client=storefront coupon=SPRING10 user=42 order=order-1"
    ]

    assert response.status_code == 200
    body = response.json()
    assert (body["code"], body["user_id"], body["order_id"], body["status"]) == ("SPRING10", 42, "order-1", "used")
    row = IssuedCoupon.objects.get(coupon=coupon, user_id=42)
    assert row.used_at is not None and row.order_id == "order-1" and row.redeemed_by.name == "storefront"
    assert redeem(client, key, 42, "order-1").json() == body  # the same order again: the same answer
    assert error_of(redeem(client, key, 42, "order-2")) == (409, "already_redeemed")
    assert IssuedCoupon.objects.get(coupon=coupon, user_id=42).order_id == "order-1"


def test_a_redeem_of_a_coupon_not_held_revoked_or_expired_says_why(client, key, coupon):
    hold(coupon, 1)
    hold(
        Coupon.objects.create(name="R", code="R", discount_kind="percent", discount_amount=1, valid_days=1),
        2,
        deleted_at=timezone.now(),
    )
    hold(
        Coupon.objects.create(name="E", code="E", discount_kind="percent", discount_amount=1, valid_days=1),
        3,
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert error_of(redeem(client, key, 2, "o")) == (404, "not_held")
    assert error_of(redeem(client, key, 2, "o", code="R")) == (410, "revoked")
    assert error_of(redeem(client, key, 3, "o", code="E")) == (410, "expired")
    assert error_of(redeem(client, key, 1, "o", code="NOPE")) == (404, "unknown_coupon")
    assert not IssuedCoupon.objects.filter(used_at__isnull=False).exists()


@pytest.mark.parametrize(
    "body",
    [
        '{"order_id": 5}',
        '{"order_id": ""}',
        "{}",
        '{"order_id": "' + "x" * 101 + '"}',
        "{order_id: 1}",
        '{"order_id": "a\\u0000b"}',
        '{"order_id": "   "}',
    ],
)
def test_a_redeem_without_a_proper_order_id_is_refused(client, key, coupon, body):
    hold(coupon, 1)
    response = post(client, "/api/v1/members/1/coupons/SPRING10/redeem", body, key)
    assert response.status_code in (400, 422) and response.json()["error"]["code"] in (
        "malformed_json",
        "invalid_request",
    )
    assert IssuedCoupon.objects.get().used_at is None


def test_a_release_clears_the_redeem_only_for_the_order_that_made_it(client, key, coupon):
    hold(coupon, 42)
    redeem(client, key, 42, "order-1")
    assert error_of(redeem(client, key, 42, "order-2", action="release")) == (409, "redeemed_by_another_order")
    assert IssuedCoupon.objects.get().used_at is not None

    released = redeem(client, key, 42, "order-1", action="release")
    assert released.status_code == 200 and released.json() == {"code": "SPRING10", "user_id": 42, "status": "usable"}
    row = IssuedCoupon.objects.get()
    assert (row.used_at, row.order_id, row.redeemed_by_id) == (None, None, None)
    assert redeem(client, key, 42, "order-1", action="release").status_code == 200  # again: nothing to do
    assert redeem(client, key, 42, "order-3").status_code == 200  # usable again
    assert error_of(redeem(client, key, 9, "order-1", action="release")) == (404, "not_held")


# --- the rest of the surface ---------------------------------------------------------------------


def test_unknown_endpoints_answer_in_the_same_error_shape(client, key):
    assert error_of(client.get("/api/v1/nothing/here", **bearer(key))) == (404, "not_found")
    # A POST too (it met the CSRF check and got an HTML 403), a code with an encoded slash, another version.
    strict = Client(enforce_csrf_checks=True)
    for url in ("/api/v1/nothing", "/api/v1/coupons/a%2Fb/issue", "/api/v2/coupons/SPRING10/issue"):
        assert error_of(strict.post(url, "{}", content_type="application/json", **bearer(key))) == (404, "not_found")
    wrong_method = client.get("/api/v1/coupons/SPRING10/issue", **bearer(key))
    assert error_of(wrong_method) == (405, "method_not_allowed") and wrong_method["Allow"] == "POST"


def test_the_openapi_schema_and_docs_page_are_served(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert {
        "/api/v1/coupons/{code}/issue",
        "/api/v1/members/{user_id}/coupons",
        "/api/v1/members/{user_id}/coupons/{code}/redeem",
    } <= set(schema["paths"])
    assert client.get("/api/v1/docs").status_code == 200


def test_old_idempotency_keys_are_pruned(key, coupon, client):
    issue(client, key, [1], idempotency="old")
    issue(client, key, [2], idempotency="new")
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    call_command("prune_idempotency_keys")
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


def test_a_draft_preview_counts_members_who_got_the_coupon_through_the_api(client, key, coupon, duckdb_source):
    from distribution import selectors

    duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 11) t(i)")
    issue(client, key, [3, 4, 99])
    target, profile = selectors.audience_check(source="demo", table="warehouse.main.members", column="user_id")
    assert selectors.audience_holders_count(coupon=coupon, source="demo", target=target, targets=profile.targets) == (
        2,
        0,
    )


# --- the schema promises what the server accepts (issue 21) --------------------------------------


def test_a_number_too_long_for_python_to_convert_is_a_422_naming_its_field_not_malformed_json(client, key, coupon):
    hold(coupon, 1)
    huge = "9" * 5000  # past Python's 4,300-digit conversion limit
    response = post(
        client, "/api/v1/coupons/SPRING10/issue", '{"user_ids": [1, ' + huge + "]}", key, HTTP_IDEMPOTENCY_KEY="k"
    )
    assert error_of(response) == (422, "invalid_request")
    assert response.json()["error"]["problems"][0]["field"] == "user_ids.1"
    redeemed = post(client, "/api/v1/members/1/coupons/SPRING10/redeem", '{"order_id": ' + huge + "}", key)
    assert error_of(redeemed) == (422, "invalid_request")
    assert redeemed.json()["error"]["problems"] == [{"field": "order_id", "message": "Input should be a valid string"}]
    assert not IdempotencyKey.objects.exists() and IssuedCoupon.objects.get().used_at is None


@pytest.mark.parametrize("written", ["05", "+5", "5.0", "%205", "5%20", "0x5", "５"])
def test_a_member_id_in_the_path_is_read_as_strictly_as_the_bodys_ids(client, key, coupon, written):
    hold(coupon, 5)
    assert error_of(client.get(f"/api/v1/members/{written}/coupons", **bearer(key))) == (422, "invalid_request")
    assert error_of(redeem(client, key, written, "order-1")) == (422, "invalid_request")
    assert IssuedCoupon.objects.get().used_at is None
    assert client.get("/api/v1/members/5/coupons", **bearer(key)).json()["coupons"][0]["code"] == "SPRING10"


@pytest.mark.parametrize("order_id", ["\x1c", " \u2028\t", "\u3000"])
def test_an_order_id_of_whitespace_alone_is_refused_by_the_schemas_own_pattern(client, key, coupon, order_id):
    import re

    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["OrderIn"]["properties"]["order_id"]
    assert not re.search(schema["pattern"], order_id)
    hold(coupon, 1)
    assert error_of(redeem(client, key, 1, order_id)) == (422, "invalid_request")


def test_the_schema_declares_the_idempotency_key_and_limits_the_server_applies(client, key, coupon, settings):
    settings.API_ISSUE_MAX_IDS = 3
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/coupons/{code}/issue"]["post"]
    header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
    assert header["required"] and (header["schema"]["minLength"], header["schema"]["maxLength"]) == (1, 255)
    assert (
        "idempotency_key_reused" in header["description"] and "idempotency_key_reused" in schema["info"]["description"]
    )
    assert schema["components"]["schemas"]["IssueIn"]["properties"]["user_ids"]["maxItems"] == 3
    error = schema["components"]["schemas"]["Error"]["properties"]
    assert {"problems", "scope"} <= set(error)
    for bad in ("", " padded", "tab\there", "한국어"):
        assert error_of(issue(client, key, [1], idempotency=bad)) == (400, "idempotency_key_required"), bad


def test_a_coupon_code_longer_than_any_code_is_a_422_not_a_long_request_line(client, key):
    assert error_of(issue(client, key, [1], code="C" * 65)) == (422, "invalid_request")
    assert error_of(redeem(client, key, 1, "o", code="C" * 65)) == (422, "invalid_request")


def test_an_unknown_query_parameter_is_refused_not_ignored(client, key, coupon):
    hold(coupon, 1)
    response = client.get("/api/v1/members/1/coupons?statuss=all", **bearer(key))
    assert error_of(response) == (422, "invalid_request")
    assert response.json()["error"]["problems"] == [{"field": "statuss", "message": "Unknown query parameter"}]


def test_the_schema_links_a_wallets_coupon_to_its_redeem_and_a_redeem_to_its_release(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    wallet = paths["/api/v1/members/{user_id}/coupons"]["get"]["responses"]["200"]["links"]
    redeem = paths["/api/v1/members/{user_id}/coupons/{code}/redeem"]["post"]["responses"]["200"]["links"]
    operation_ids = {op["operationId"] for methods in paths.values() for op in methods.values()}
    assert {link["operationId"] for link in [*wallet.values(), *redeem.values()]} <= operation_ids


def test_an_api_call_skips_the_admins_session_user_and_messages(client, key, admin_client):
    response = client.get("/api/v1/members/1/coupons", **bearer(key))
    assert response.status_code == 200
    assert not any(hasattr(response.wsgi_request, name) for name in ("session", "user", "_messages"))
    assert "sessionid" not in response.cookies and "Cookie" not in response.get("Vary", "")
    page = admin_client.get("/admin/")
    assert page.status_code == 200 and page.wsgi_request.user.is_authenticated


def test_a_redeem_that_succeeds_is_the_key_look_up_and_one_update_and_a_wallet_two_queries(
    client, key, coupon, django_assert_num_queries
):
    hold(coupon, 1, 2)
    client.get("/api/v1/members/1/coupons", **bearer(key))  # the key's last use is written once a minute
    with django_assert_num_queries(2):  # the key by its prefix; the UPDATE that finds the coupon by its code
        assert redeem(client, key, 1, "order-1", code="spring10").status_code == 200
    with django_assert_num_queries(2):  # the key; one probe of the primary key per coupon (a subquery of coupons)
        assert client.get("/api/v1/members/2/coupons", **bearer(key)).status_code == 200
    assert error_of(redeem(client, key, 1, "order-1", code="NOPE")) == (404, "unknown_coupon")
    assert IssuedCoupon.objects.get(user_id=1).order_id == "order-1"


def test_a_middleware_with_view_hooks_cannot_be_skipped_on_the_api_path():
    from django.middleware.csrf import CsrfViewMiddleware

    from couponops.site_middleware import SiteOnly

    class Csrf(SiteOnly, CsrfViewMiddleware):
        pass

    with pytest.raises(TypeError, match="view hooks"):
        Csrf(lambda request: None)
