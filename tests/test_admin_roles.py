"""A role works on its own (issue 21, point 1): a user put in a role's group logs in without anyone also
ticking "Staff status", whether the group is given in the user admin or with `manage.py grant_role`."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse

from distribution.roles import roles_apply

PASSWORD = "pw-for-tests-only"


@pytest.fixture(autouse=True)
def roles(db):
    roles_apply()


def logs_in(client, username):
    response = client.post(reverse("admin:login"), {"username": username, "password": PASSWORD})
    return response.status_code == 302


def test_grant_role_puts_the_user_in_the_group_and_lets_them_log_in(client, django_user_model):
    django_user_model.objects.create_user("newcomer", password=PASSWORD)
    assert not logs_in(client, "newcomer")
    call_command("grant_role", "newcomer", "support")
    user = django_user_model.objects.get(username="newcomer")
    assert user.is_staff and list(user.groups.values_list("name", flat=True)) == ["support"]
    assert logs_in(client, "newcomer")


def test_grant_role_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="No user is called 'nobody'"):
        call_command("grant_role", "nobody", "marketer")


def test_putting_a_user_in_a_role_in_the_admin_turns_staff_status_on(client, django_user_model, staff_user):
    newcomer = django_user_model.objects.create_user("newcomer", password=PASSWORD)
    client.force_login(staff_user)
    url = reverse("admin:auth_user_change", args=[newcomer.pk])
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update(
        username="newcomer",
        groups=[Group.objects.get(name="manager").pk],
        user_permissions=[],
        date_joined_0="2026-12-01",
        date_joined_1="10:00:00",
    )
    data.pop("last_login", None)
    response = client.post(url, data, follow=True)
    assert "Staff status was turned on" in response.content.decode()
    newcomer.refresh_from_db()
    assert newcomer.is_staff
    client.logout()
    assert logs_in(client, "newcomer")


def test_a_user_in_no_role_stays_without_staff_status(client, django_user_model, staff_user):
    newcomer = django_user_model.objects.create_user("newcomer", password=PASSWORD)
    client.force_login(staff_user)
    url = reverse("admin:auth_user_change", args=[newcomer.pk])
    data = {"username": "newcomer", "date_joined_0": "2026-12-01", "date_joined_1": "10:00:00", "is_active": "on"}
    client.post(url, data)
    newcomer.refresh_from_db()
    assert not newcomer.is_staff
