"""A support agent's look-up: does member X hold coupon Y, is it usable, until when?"""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from distribution.models import Coupon, DistributionRequest, IssuedCoupon
from distribution.roles import roles_apply

URL = reverse("admin:distribution_issuedcoupon_list")
KO = {"HTTP_ACCEPT_LANGUAGE": "ko"}


@pytest.fixture(autouse=True)
def roles(db):
    """The groups the data migration made; set again, as a transactional test's flush empties them."""
    roles_apply()


@pytest.fixture
def agent(client, django_user_model):
    user = django_user_model.objects.create_user("help", password="pw-for-tests-only", is_staff=True)
    user.groups.add(Group.objects.get(name="support"))
    client.force_login(user)
    return client


@pytest.fixture
def held(db, coupon):
    """Member 2,519,091 holds WELCOME10 (usable) and SPRING10 (used); 100 other members hold WELCOME10."""
    welcome = Coupon.objects.create(
        name="Welcome 10%", code="WELCOME10", discount_kind="percent", discount_amount=10, valid_days=30
    )
    now = timezone.now()
    distribution = DistributionRequest.objects.create(
        coupon=welcome, source="demo", table="t", column="c", memo="m", status="succeeded"
    )
    rows = [
        IssuedCoupon(
            coupon=welcome,
            user_id=user_id,
            distribution=distribution,
            issued_at=now,
            expires_at=now + timedelta(days=30),
        )
        for user_id in range(1, 101)
    ]
    rows.append(
        IssuedCoupon(
            coupon=welcome,
            user_id=2519091,
            distribution=distribution,
            issued_at=now,
            expires_at=now + timedelta(days=30),
        )
    )
    rows.append(
        IssuedCoupon(
            coupon=coupon,
            user_id=2519091,
            distribution=distribution,
            issued_at=now,
            expires_at=now + timedelta(days=14),
            used_at=now,
        )
    )
    IssuedCoupon.objects.bulk_create(rows)
    return welcome, distribution


def listed(response):
    page = response.content.decode()
    users = [int(n) for n in re.findall(r'<td class="user-id">(\d+)</td>', page)]
    codes = re.findall(r'<td class="coupon"><strong>([^<]+)</strong>', page)
    states = re.findall(r'<td class="state">([^<]+)</td>', page)
    return list(zip(users, codes, states, strict=False))


@pytest.mark.parametrize("typed", ["2519091", "2,519,091", " 2 519 091 ", "2519091\t"])
def test_a_member_id_is_read_as_people_type_it_and_shown_back_without_separators(agent, held, typed):
    response = agent.get(URL, {"user_id": typed})
    assert sorted(listed(response)) == [(2519091, "SPRING10", "Used"), (2519091, "WELCOME10", "Usable")]
    assert 'value="2519091"' in response.content.decode()


@pytest.mark.parametrize("typed", ["WELCOME10", "welcome10 ", "Welcome 10", "{pk}"])
def test_a_coupon_by_id_code_or_name_keeps_the_member_filter(agent, held, typed):
    welcome, _ = held
    response = agent.get(URL, {"user_id": "2,519,091", "coupon": typed.format(pk=welcome.pk)})
    assert listed(response) == [(2519091, "WELCOME10", "Usable")]
    body = response.content.decode()
    assert "member 2519091" in body and "Welcome 10% (WELCOME10)" in body


def test_what_is_not_understood_is_said_and_nothing_is_listed(agent, held):
    response = agent.get(URL, {"user_id": "25l9091", "coupon": "NOPE"})
    body = response.content.decode()
    assert "“25l9091” is not a member id" in body and "No coupon has the id, code or name “NOPE”" in body
    assert listed(response) == [] and "Nothing is listed until every filter is understood" in body
    korean = agent.get(URL, {"user_id": "abc"}, **KO).content.decode()
    assert "회원 ID가 아닙니다" in korean


def test_each_state_reads_in_words_with_the_coupons_code_and_name(agent, held, coupon):
    welcome, distribution = held
    now = timezone.now()
    IssuedCoupon.objects.filter(coupon=welcome, user_id=1).update(deleted_at=now)
    IssuedCoupon.objects.filter(coupon=welcome, user_id=2).update(expires_at=now - timedelta(days=1))
    assert listed(agent.get(URL, {"user_id": "1"})) == [(1, "WELCOME10", "Revoked")]
    assert listed(agent.get(URL, {"user_id": "2"})) == [(2, "WELCOME10", "Expired")]
    korean = listed(agent.get(URL, {"user_id": "2519091"}, **KO))
    assert sorted(korean) == [(2519091, "SPRING10", "사용함"), (2519091, "WELCOME10", "사용 가능")]
    assert "Welcome 10%" in agent.get(URL, {"user_id": "1"}).content.decode()


def test_a_member_look_up_probes_the_primary_key_and_never_counts(agent, held):
    welcome, _ = held
    with CaptureQueriesContext(connection) as queries:
        agent.get(URL, {"user_id": "2519091", "coupon": "WELCOME10"})
    bulk = [q["sql"] for q in queries if "issuedcoupon" in q["sql"]]
    assert len(bulk) == 1 and '"user_id" = 2519091' in bulk[0] and '"coupon_id" IN' in bulk[0]
    assert "COUNT(" not in bulk[0].upper()


def test_each_row_links_to_the_members_revoke_and_restore_page(agent, held):
    body = agent.get(URL, {"user_id": "2519091"}).content.decode()
    member = reverse("admin:distribution_issuedcoupon_member")
    welcome, _ = held
    assert f'href="{member}?coupon={welcome.pk}&amp;user_id=2519091"' in body


def test_a_request_filter_narrows_by_its_coupon_and_pages_by_key(agent, held, settings):
    _, distribution = held
    settings.ADMIN_ISSUED_COUPONS_PER_PAGE = 40
    first = agent.get(URL, {"request": distribution.pk})
    assert len(listed(first)) == 40 and "Next page" in first.content.decode()
    assert f"request #{distribution.pk}" in first.content.decode()
    assert "There is no distribution request" in agent.get(URL, {"request": "999999"}).content.decode()
