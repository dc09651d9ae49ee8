"""Issue 21's admin points through the test client: a language chosen in the header stays the user's,
an expired coupon is said to be expired, support sees no revoke, money has its currency, moments have one
format, the transitions list speaks in words, and marketers see no engineers' fields."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from common import formats
from distribution import services
from distribution.models import Coupon, DistributionRequest, Transition
from distribution.roles import roles_apply
from tests.helpers import by

KO = {"HTTP_ACCEPT_LANGUAGE": "ko"}
COUPONS = reverse("admin:distribution_coupon_changelist")


@pytest.fixture(autouse=True)
def roles(db):
    roles_apply()


def text(response):
    return re.sub(r"\s+", " ", response.content.decode())


def person(django_user_model, name, role):
    user = django_user_model.objects.create_user(name, password="pw-for-tests-only", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def test_the_language_chosen_in_the_header_follows_the_user_to_another_browser(client, staff_user):
    client.force_login(staff_user)
    assert 'id="language-select"' in text(client.get(COUPONS))
    client.post(reverse("language_set"), {"language": "ko", "next": COUPONS})
    client.cookies.clear()  # another browser: no language cookie, an English one
    client.force_login(staff_user)
    page = client.get(COUPONS, HTTP_ACCEPT_LANGUAGE="en")
    assert page.headers["Content-Language"] == "ko" and '<html lang="ko"' in text(page)


def test_saving_an_expired_coupon_warns_and_the_list_says_expired(marketer, coupon):
    url = reverse("admin:distribution_coupon_change", args=[coupon.pk])
    data = {
        "name": coupon.name,
        "code": coupon.code,
        "discount_kind": "percent",
        "discount_amount": "10",
        "valid_days": "14",
        "is_active": "on",
        "issue_until_0": "2020-01-01",
        "issue_until_1": "00:00:00",
        "holdout_percent": "0",
    }
    page = text(marketer.post(url, data, follow=True))
    assert "Saved, but “SPRING10” expired at 2020-01-01 00:00:00" in page
    assert 'class="coupon-state coupon-expired">Expired<' in page and ">10%<" in page
    korean = text(marketer.get(COUPONS, **KO))
    assert ">만료됨<" in korean and "쿠폰 1개" in korean
    assert "SPRING10" not in text(marketer.get(COUPONS, {"state": "issuable"}))


def test_support_is_offered_details_not_revoke(client, coupon, django_user_model):
    helpdesk = person(django_user_model, "helpdesk", "support")
    assert not helpdesk.has_perm("distribution.revoke_distributionrequest")
    client.force_login(helpdesk)
    response = client.get(reverse("admin:distribution_issuedcoupon_list"))
    assert response.context["can_change"] is False


@pytest.mark.parametrize(
    ("language", "kind", "amount", "reads"),
    [
        ("en", "amount", "5000000000.00", "5,000,000,000 KRW"),
        ("ko", "amount", "5000000000.00", "5,000,000,000원"),
        ("en", "amount", "12.50", "12.50 KRW"),
        ("ko", "percent", "10.00", "10%"),
    ],
)
def test_money_reads_with_its_currency_and_a_percent_as_a_percent(language, kind, amount, reads, settings):
    from django.utils import translation

    settings.CURRENCY = "KRW"
    with translation.override(language):
        assert formats.discount(kind, amount) == reads


def test_another_currency_reads_as_its_code(settings):
    settings.CURRENCY = "USD"
    assert formats.money(25) == "25 USD"


def test_moments_read_one_way_per_language_in_the_sites_time_zone(settings):
    from django.utils import translation

    moment = timezone.make_aware(timezone.datetime(2026, 12, 2, 5, 9, 3), timezone.get_fixed_timezone(0))
    with translation.override("en"):
        assert (formats.moment(moment), formats.day(moment.date())) == ("2026-12-02 14:09:03", "2026-12-02")
    with translation.override("ko"):
        assert (formats.moment(moment), formats.time_of_day(moment)) == ("2026-12-02 오후 2:09:03", "오후 2:09")


def test_the_history_says_the_system_and_details_in_words(marketer, coupon, members, staff_user):
    distribution = services.distribution_submit(
        distribution=DistributionRequest(
            coupon=coupon, source="demo", table="warehouse.main.members", column="user_id", memo="m"
        ),
        actor=by(staff_user),
    )
    services.distribution_run_queue()
    started = Transition.objects.get(distribution=distribution, action="started")
    assert (started.by_text, started.details_text) == ("the system", "run 1")
    page = text(marketer.get(reverse("admin:distribution_transition_changelist")))
    assert "By who made it" in page and "By by" not in page and "{&quot;attempt" not in page
    korean = text(marketer.get(reverse("admin:distribution_distributionrequest_change", args=[distribution.pk]), **KO))
    assert "시스템" in korean and "worker" not in korean and "watchdog" not in korean


def test_marketers_see_no_engineers_fields_and_no_table_name_hint_under_a_value(
    client, coupon, members, django_user_model, staff_user
):
    marketer = person(django_user_model, "alice", "marketer")
    distribution = services.distribution_submit(
        distribution=DistributionRequest(
            coupon=coupon, source="demo", table="warehouse.main.members", column="user_id", memo="m"
        ),
        actor=by(marketer),
    )
    services.distribution_run_queue()
    client.force_login(marketer)
    page = text(client.get(reverse("admin:distribution_distributionrequest_change", args=[distribution.pk])))
    assert "For the engineers" not in page and 'class="' in page and " submitted" in page
    client.force_login(staff_user)  # a superuser, the engineers' view
    assert "For the engineers" in text(
        client.get(reverse("admin:distribution_distributionrequest_change", args=[distribution.pk]))
    )


def test_a_member_id_that_is_not_one_is_explained_without_the_bigint_range(marketer, coupon):
    page = text(marketer.get(reverse("admin:distribution_issuedcoupon_list"), {"user_id": "abc"}))
    assert "a member id is a whole number, such as 12345." in page and "9,223" not in page


def test_a_coupon_expiring_later_is_issuable_and_said_so(marketer):
    Coupon.objects.create(
        name="Later",
        code="LATER",
        discount_kind="amount",
        discount_amount=3000,
        valid_days=7,
        issue_until=timezone.now() + timedelta(days=3),
    )
    page = text(marketer.get(COUPONS))
    assert ">Issuable<" in page and ">3,000 KRW<" in page
