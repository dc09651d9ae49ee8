"""The request list's actions ask first (issue 19, defect 4): a confirmation page says what happens to
which requests, and only its own "Yes" acts; a requester hears in Slack when someone else cancels theirs."""

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from distribution import services
from distribution.models import DistributionRequest
from distribution.roles import roles_apply
from notifications.models import Notification
from tests.helpers import by

LIST_URL = reverse("admin:distribution_distributionrequest_changelist")
KO = {"HTTP_ACCEPT_LANGUAGE": "ko"}


@pytest.fixture(autouse=True)
def roles(db):
    roles_apply()


def person(django_user_model, name, role):
    user = django_user_model.objects.create_user(name, password="pw-for-tests-only", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def queued(user, coupon, table="warehouse.main.members"):
    return services.distribution_submit(
        distribution=DistributionRequest(coupon=coupon, source="demo", table=table, column="user_id", memo="m"),
        actor=by(user),
    )


def in_status(distribution, status, **fields):
    DistributionRequest.objects.filter(pk=distribution.pk).update(status=status, **fields)
    return distribution


def choose(client, action, *distributions, **headers):
    return client.post(LIST_URL, {"action": action, "_selected_action": [d.pk for d in distributions]}, **headers)


def confirm(client, action, *distributions):
    data = {"action": action, "_selected_action": [d.pk for d in distributions], "post": "yes"}
    return client.post(LIST_URL, data)


def status_of(distribution):
    distribution.refresh_from_db()
    return distribution.status


def text(response):
    return re.sub(r"\s+", " ", response.content.decode())


def test_cancel_shows_a_confirmation_page_and_changes_nothing_until_yes(marketer, coupon, members, staff_user):
    mine, done = queued(staff_user, coupon), in_status(queued(staff_user, coupon), "succeeded")
    page = choose(marketer, "cancel", mine, done)
    assert page.status_code == 200
    assert (status_of(mine), status_of(done)) == ("queued", "succeeded")
    body = text(page)
    assert "These requests will be cancelled: <strong>1 request</strong>" in body
    assert f'data-request="{done.pk}">#{done.pk} · Succeeded · only a request awaiting approval' in body
    assert 'id="go-back"' in body and 'name="post" value="yes"' in body
    response = confirm(marketer, "cancel", mine, done)
    assert response.status_code == 302
    assert (status_of(mine), status_of(done)) == ("cancelled", "succeeded")


def test_the_confirmation_page_reads_in_korean(marketer, coupon, members, staff_user):
    distribution = queued(staff_user, coupon)
    body = text(choose(marketer, "cancel", distribution, **KO))
    assert "이 요청들을 취소합니다" in body and "아니요, 돌아갑니다" in body and "예, 취소합니다" in body


def test_approve_asks_first_and_leaves_the_approvers_own_requests_alone(
    client, coupon, members, staff_user, django_user_model
):
    boss = person(django_user_model, "boss", "manager")
    theirs, own = (
        in_status(queued(staff_user, coupon), "awaiting_approval"),
        in_status(queued(staff_user, coupon), "awaiting_approval", requested_by=boss),
    )
    client.force_login(boss)
    body = text(choose(client, "approve", theirs, own))
    assert (status_of(theirs), status_of(own)) == ("awaiting_approval", "awaiting_approval")
    assert "Nobody approves or rejects their own request: another approver must." in body
    confirm(client, "approve", theirs, own)
    assert (status_of(theirs), status_of(own)) == ("queued", "awaiting_approval")


def test_retry_asks_first_and_queues_only_failed_requests(marketer, coupon, members, staff_user):
    failed, running = in_status(queued(staff_user, coupon), "failed"), in_status(queued(staff_user, coupon), "running")
    assert "These requests will be queued again" in text(choose(marketer, "retry", failed, running))
    assert status_of(failed) == "failed"
    confirm(marketer, "retry", failed, running)
    assert (status_of(failed), status_of(running)) == ("queued", "running")


def test_nothing_to_change_says_so_and_offers_only_going_back(marketer, coupon, members, staff_user):
    done = in_status(queued(staff_user, coupon), "succeeded")
    body = text(choose(marketer, "retry", done))
    assert 'id="nothing-changes"' in body and 'name="post"' not in body


def test_the_page_warns_that_a_colleague_is_told_and_a_running_request_stops(
    client, coupon, members, django_user_model
):
    alice, bob = person(django_user_model, "alice", "marketer"), person(django_user_model, "bob", "marketer")
    distribution = in_status(queued(alice, coupon), "running")
    client.force_login(bob)
    body = text(choose(client, "cancel", distribution))
    assert "It is running: it stops within one chunk" in body
    assert "alice requested it and will be told in Slack that you cancelled it." in body


def test_cancelling_a_colleagues_request_mentions_the_requester_in_slack(
    client, coupon, members, django_user_model, settings, django_capture_on_commit_callbacks
):
    settings.SLACK_USER_IDS = {"alice": "U024BE7LH"}
    alice, bob = person(django_user_model, "alice", "marketer"), person(django_user_model, "bob", "marketer")
    distribution = queued(alice, coupon)
    client.force_login(bob)
    with django_capture_on_commit_callbacks(execute=True):
        confirm(client, "cancel", distribution)
    payload = Notification.objects.get(distribution=distribution, event="cancelled").payload
    assert "<@U024BE7LH>, your request was cancelled by bob." in payload["text"]
    assert payload["blocks"][1]["text"]["text"] == "<@U024BE7LH>, your request was cancelled by bob."


def test_cancelling_ones_own_request_mentions_nobody(
    marketer, coupon, members, staff_user, django_capture_on_commit_callbacks
):
    distribution = queued(staff_user, coupon)
    with django_capture_on_commit_callbacks(execute=True):
        confirm(marketer, "cancel", distribution)
    payload = Notification.objects.get(distribution=distribution, event="cancelled").payload
    assert "your request was cancelled" not in payload["text"]
