"""Support revokes or restores one member's coupon, with a reason, recorded in the issuing request's history."""

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from api import services as api_services
from distribution import services
from distribution.models import DistributionRequest, IssuedCoupon, Transition
from tests.helpers import by


@pytest.fixture
def issued(db, coupon, duckdb_source):
    duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 11) t(i)")
    distribution = services.distribution_submit(
        actor=by(),
        distribution=DistributionRequest(
            coupon=coupon, source="demo", table="warehouse.main.members", column="user_id", memo="m"
        ),
    )
    services.distribution_run_queue()
    IssuedCoupon.objects.filter(coupon=coupon, user_id=9).update(used_at=timezone.now())
    return distribution


@pytest.fixture
def viewer(django_user_model):
    user = django_user_model.objects.create_user("viewer", password="pw-for-tests-only", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_coupon"))
    return user


def row(coupon, user_id):
    return IssuedCoupon.objects.get(coupon=coupon, user_id=user_id)


def test_revoke_then_restore_one_member_each_recorded_with_the_reason(issued, coupon, staff_user):
    actor = by(staff_user)
    assert services.issued_coupon_revoke(coupon=coupon, user_id=3, actor=actor, reason="asked by the member")
    assert row(coupon, 3).deleted_at is not None and row(coupon, 4).deleted_at is None
    assert not services.issued_coupon_revoke(coupon=coupon, user_id=3, actor=actor, reason="twice")
    assert services.issued_coupon_restore(coupon=coupon, user_id=3, actor=actor, reason="revoked by mistake")
    assert row(coupon, 3).deleted_at is None and row(coupon, 3).distribution_id == issued.pk
    assert not services.issued_coupon_restore(coupon=coupon, user_id=3, actor=actor, reason="twice")
    history = list(
        issued.transitions.filter(action__startswith="member_")
        .order_by("at", "pk")
        .values_list("action", "actor_name", "details")
    )
    assert history == [
        ("member_revoked", "marketer", {"user_id": 3, "coupon": "SPRING10", "reason": "asked by the member"}),
        ("member_restored", "marketer", {"user_id": 3, "coupon": "SPRING10", "reason": "revoked by mistake"}),
    ]


def test_a_used_coupon_is_never_revoked_and_a_reason_is_required(issued, coupon, staff_user):
    assert not services.issued_coupon_revoke(coupon=coupon, user_id=9, actor=by(staff_user), reason="fraud")
    assert row(coupon, 9).deleted_at is None
    with pytest.raises(ValidationError):
        services.issued_coupon_revoke(coupon=coupon, user_id=3, actor=by(staff_user), reason="  ")
    assert row(coupon, 3).deleted_at is None


def test_without_the_revoke_permission_the_service_refuses(issued, coupon, viewer):
    with pytest.raises(PermissionDenied):
        services.issued_coupon_revoke(coupon=coupon, user_id=3, actor=by(viewer), reason="r")
    assert row(coupon, 3).deleted_at is None


def test_a_coupon_restored_while_its_request_is_revoking_is_refused(issued, coupon, staff_user):
    services.issued_coupon_revoke(coupon=coupon, user_id=3, actor=by(staff_user), reason="r")
    services.distribution_revoke(distribution=issued, actor=by(staff_user))
    with pytest.raises(ValidationError):
        services.issued_coupon_restore(coupon=coupon, user_id=3, actor=by(staff_user), reason="r")


def member_url(coupon, user_id):
    return reverse("admin:distribution_issuedcoupon_member") + f"?coupon={coupon.pk}&user_id={user_id}"


def test_support_reaches_the_page_from_the_list_and_revokes_with_a_reason(issued, coupon, client, staff_user):
    client.force_login(staff_user)
    listing = client.get(reverse("admin:distribution_issuedcoupon_list") + f"?coupon={coupon.pk}").content.decode()
    url = member_url(coupon, 3)
    assert url.replace("&", "&amp;") in listing
    assert 'id="member-revoke"' in client.get(url).content.decode()
    page = client.post(url, {"action": "revoke", "reason": ""}).content.decode()
    assert "This field is required" in page and row(coupon, 3).deleted_at is None
    assert client.post(url, {"action": "revoke", "reason": "member asked"}).status_code == 302
    page = client.get(url).content.decode()
    assert row(coupon, 3).deleted_at is not None
    assert 'id="member-restore"' in page and "member asked" in page


def test_a_viewer_sees_the_coupon_but_cannot_change_it(issued, coupon, client, viewer):
    client.force_login(viewer)
    page = client.get(member_url(coupon, 3)).content.decode()
    assert 'id="member-revoke"' not in page and "needs the permission" in page
    assert client.post(member_url(coupon, 3), {"action": "revoke", "reason": "r"}).status_code == 403
    assert row(coupon, 3).deleted_at is None


def test_the_request_history_shows_who_changed_which_member_and_why(issued, coupon, client, staff_user):
    services.issued_coupon_revoke(coupon=coupon, user_id=3, actor=by(staff_user), reason="fraud report 17")
    client.force_login(staff_user)
    page = client.get(reverse("admin:distribution_distributionrequest_history", args=[issued.pk])).content.decode()
    assert 'class="transition-member_revoked"' in page and "Member id 3 · Reason: fraud report 17" in page


def test_a_coupon_issued_through_the_api_is_revoked_and_restored_with_its_own_record(coupon, client, staff_user):
    # It belongs to no request: before, the page linked to request "#None" and revoking failed with a 500.
    api_client, _key = api_services.api_client_create(name="storefront", scopes=["issue"])
    api_services.coupon_issue(client=api_client, coupon=coupon, user_ids=[77], key="k", fingerprint="f")
    client.force_login(staff_user)
    page = client.get(member_url(coupon, 77)).content.decode()
    assert "API: storefront" in page and "None" not in page
    answer = client.post(member_url(coupon, 77), {"action": "revoke", "reason": "member asked"}, follow=True)
    assert "support history below" in answer.content.decode() and row(coupon, 77).deleted_at is not None
    assert services.issued_coupon_restore(coupon=coupon, user_id=77, actor=by(staff_user), reason="by mistake")
    assert row(coupon, 77).deleted_at is None
    assert list(Transition.objects.filter(distribution=None).order_by("pk").values_list("action", "details")) == [
        (
            "member_revoked",
            {
                "user_id": 77,
                "coupon": "SPRING10",
                "reason": "member asked",
                "issue_call": row(coupon, 77).issue_call_id,
            },
        ),
        (
            "member_restored",
            {"user_id": 77, "coupon": "SPRING10", "reason": "by mistake", "issue_call": row(coupon, 77).issue_call_id},
        ),
    ]
    assert "member asked" in client.get(member_url(coupon, 77)).content.decode()


@pytest.mark.parametrize("query", ["coupon=²&user_id=1", "coupon=1&user_id=²", "coupon=1&user_id=99999999999999999999"])
def test_ids_that_are_not_numbers_python_can_read_find_nothing(issued, coupon, client, staff_user, query):
    client.force_login(staff_user)
    page = client.get(reverse("admin:distribution_issuedcoupon_member") + "?" + query)
    assert page.status_code == 200 and "No issued coupon matches" in page.content.decode()
