"""Failed admin logins are throttled (django-axes): a clear, translated lockout, and an administrator unlocks.

Every login here goes through the admin's real login form, as a person (or a script guessing
passwords) would, with the test client's requests carrying a client address.
"""

import os
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

# As in test_browser.py: Playwright's sync API leaves an event loop in this thread; the ORM is still sync.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "pw-for-tests-only"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # Dozens of logins per test: a fast hasher keeps them quick (the lockout does not depend on it).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def log_in(client, username, password, language="en", address="10.0.0.7"):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": reverse("admin:index")},
        HTTP_ACCEPT_LANGUAGE=language,
        REMOTE_ADDR=address,
    )


def fail(client, times, username="marketer", address="10.0.0.7"):
    """Wrong passwords; the form answers each until the limit is reached, then the lockout page."""
    return [log_in(client, username, "wrong password", address=address).status_code for _ in range(times)]


def test_the_right_password_logs_in(client, staff_user):
    assert log_in(client, "marketer", PASSWORD).status_code == 302


def test_a_username_longer_than_any_account_fails_like_any_wrong_login_and_counts(client, staff_user):
    # django-axes stores the name it counts in a varchar(255): a longer one failed the insert (a 500).
    assert fail(client, 4, username="x" * 300) == [200] * 4
    assert log_in(client, "x" * 300, "wrong password").status_code == 429
    assert AccessAttempt.objects.get().username == "x" * 255


def test_five_failed_logins_lock_the_account_with_a_clear_page(client, staff_user, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert fail(client, 4) == [200] * 4
    page = log_in(client, "marketer", "wrong password")
    assert page.status_code == 429
    text = page.content.decode()
    assert "Too many failed logins: after 5 failed attempts" in text and "Try again in 15 minutes" in text
    assert "couponops" in text and 'href="/admin/login/"' in text


def test_the_lockout_page_is_korean_for_a_korean_browser(client, staff_user):
    fail(client, 4)
    page = log_in(client, "marketer", "wrong password", language="ko")
    assert page.status_code == 429
    text = page.content.decode()
    assert "로그인 실패가 너무 많습니다" in text and "15분 뒤에 다시 시도해 주세요" in text
    assert "관리자" in text and "로그인 페이지로 돌아가기" in text


def test_the_right_password_is_refused_while_locked_and_the_wait_starts_again(client, staff_user):
    fail(client, 5)
    locked_at = AccessAttempt.objects.get(username="marketer").attempt_time
    assert log_in(client, "marketer", PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.get(username="marketer").attempt_time > locked_at


def test_a_username_locked_on_one_computer_is_locked_there_only(client, staff_user):
    fail(client, 5, address="10.0.0.7")
    assert log_in(client, "marketer", PASSWORD, address="10.0.0.7").status_code == 429
    assert log_in(client, "marketer", PASSWORD, address="10.9.9.9").status_code == 302


def test_a_colleagues_failures_on_a_shared_computer_do_not_lock_someone_with_the_right_password(
    client, staff_user, django_user_model
):
    django_user_model.objects.create_superuser("manager", "manager@example.com", PASSWORD)
    assert fail(client, 5, username="marketer") == [200] * 4 + [429]
    assert log_in(client, "manager", PASSWORD).status_code == 302


def test_from_the_third_failure_the_form_says_how_many_tries_are_left(client, staff_user):
    pages = [log_in(client, "marketer", "wrong password").content.decode() for _ in range(4)]
    assert ["tries are left" in page or "try is left" in page for page in pages] == [False, False, True, True]
    assert "2 tries are left before logging in is blocked for 15 minutes." in pages[2]
    assert "1 try is left before logging in is blocked for 15 minutes." in pages[3]
    korean = log_in(client, "other", "wrong password", language="ko")
    for _ in range(2):
        korean = log_in(client, "other", "wrong password", language="ko")
    assert "2번 더 틀리면 15분 동안 로그인이 막힙니다." in korean.content.decode()


def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw(client, staff_user, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for attempt in range(5):  # a client rotating forged X-Forwarded-For entries, all through one proxy
        client.post(
            reverse("admin:login"),
            {"username": "marketer", "password": "x"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"1.2.3.{attempt}, 203.0.113.9",
        )
    locked = client.post(
        reverse("admin:login"),
        {"username": "marketer", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    other = client.post(
        reverse("admin:login"),
        {"username": "marketer", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.4",
    )
    assert (locked.status_code, other.status_code) == (429, 302)


def test_a_successful_login_clears_the_count(client, staff_user):
    fail(client, 4)
    assert log_in(client, "marketer", PASSWORD).status_code == 302
    client.logout()
    fail(client, 4)
    assert log_in(client, "marketer", PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "reset",
    [
        lambda: call_command("axes_reset_username", "marketer"),
        lambda: call_command("axes_reset"),
        lambda: AccessAttempt.objects.all().delete(),  # what deleting it in the admin does
    ],
)
def test_an_administrator_unlocks_it(client, staff_user, reset):
    fail(client, 5)
    assert log_in(client, "marketer", PASSWORD).status_code == 429
    reset()
    assert log_in(client, "marketer", PASSWORD).status_code == 302


def test_the_access_attempts_are_listed_in_the_admin(client, staff_user, django_user_model):
    fail(client, 5)
    manager = django_user_model.objects.create_superuser("manager", "manager@example.com", PASSWORD)
    client.force_login(manager)
    page = client.get(reverse("admin:axes_accessattempt_changelist"))
    assert page.status_code == 200 and "marketer" in page.content.decode()
    korean = client.get(reverse("admin:axes_accessattempt_changelist"), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "로그인 시도" in korean and "잠김" in korean


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("locale", "says"), [("en-US", "Too many failed logins"), ("ko-KR", "로그인 실패가 너무 많습니다")]
)
def test_a_browser_gets_the_lockout_page_in_its_language(live_server, new_context, staff_user, locale, says):
    page = new_context(locale=locale).new_page()
    for _ in range(5):
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "marketer")
        page.fill("#id_password", "wrong password")
        page.click("input[type=submit]")
    expect(page.locator(".errornote")).to_contain_text(says)
    expect(page.locator("#site-name")).to_contain_text("couponops")
    folder = os.environ.get("COUPONOPS_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"7-lockout-{locale[:2]}.png"))
