"""Schedules in the admin and on the command line, as a marketer and an engineer use them."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Schedule, ScheduleRun
from distribution.models import Coupon, DistributionRequest

ADD_URL = "admin:campaigns_schedule_add"


def form_data(coupon, table, **extra):
    data = {
        "name": "Welcome",
        "coupon": coupon.pk,
        "source": "demo",
        "table": table,
        "column": "user_id",
        "memo": "welcome coupon",
        "kind": "daily",
        "at_time": "09:00",
        "cron": "",
        "first_day": timezone.localdate().isoformat(),
        "last_day": "",
        "max_coupons": "1000",
        "max_value": "",
    }
    return {**data, **extra}


def post_schedule(client, coupon, table, language="en", **extra):
    return client.post(reverse(ADD_URL), form_data(coupon, table, **extra), HTTP_ACCEPT_LANGUAGE=language)


def test_saving_shows_the_next_runs_preview_and_its_next_five_times(marketer, coupon, members, staff_user):
    response = post_schedule(marketer, coupon, members)
    schedule = Schedule.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{schedule.pk}/change/")
    assert (schedule.owner, schedule.table) == (staff_user, "warehouse.main.members")
    page = marketer.get(response["Location"]).content.decode()
    assert 'data-preview="would-issue">50<' in page
    assert "within the schedule's limits: it is queued by itself" in page
    assert page.count("09:00</li>") == 5 and "Daily at 09:00" in page


def test_the_page_reads_in_korean(marketer, coupon, members):
    post_schedule(marketer, coupon, members, kind="weekly", weekdays=["0", "2"], max_coupons="10")
    schedule = Schedule.objects.get()
    page = marketer.get(
        reverse("admin:campaigns_schedule_change", args=[schedule.pk]), HTTP_ACCEPT_LANGUAGE="ko"
    ).content.decode()
    assert "매주 월·수 09:00" in page and "승인" in page


def test_a_wrong_column_is_a_form_error_and_nothing_is_saved(marketer, coupon, members):
    response = post_schedule(marketer, coupon, members, column="member_no")
    assert response.status_code == 200
    assert "Column “member_no” does not exist in members." in response.content.decode()
    assert not Schedule.objects.exists()


def test_a_weekly_schedule_without_days_is_refused_on_its_field(marketer, coupon, members):
    response = post_schedule(marketer, coupon, members, kind="weekly")
    assert "Choose at least one day of the week." in response.content.decode()
    assert not Schedule.objects.exists()


def test_pause_resume_and_run_now_from_the_schedules_page(marketer, coupon, members):
    post_schedule(marketer, coupon, members)
    schedule = Schedule.objects.get()
    change = reverse("admin:campaigns_schedule_change", args=[schedule.pk])
    assert marketer.get(reverse("admin:campaigns_schedule_pause", args=[schedule.pk])).status_code == 403
    marketer.post(reverse("admin:campaigns_schedule_pause", args=[schedule.pk]))
    schedule.refresh_from_db()
    assert schedule.is_paused and 'id="resume"' in marketer.get(change).content.decode()
    marketer.post(reverse("admin:campaigns_schedule_resume", args=[schedule.pk]))
    schedule.refresh_from_db()
    assert not schedule.is_paused

    marketer.post(reverse("admin:campaigns_schedule_run_now", args=[schedule.pk]))
    run = ScheduleRun.objects.get()
    assert (run.outcome, run.distribution.status, run.started_by_hand) == ("queued", "queued", True)
    page = marketer.get(change).content.decode()
    assert f'data-run="{run.pk}" data-outcome="queued"' in page and f"#{run.distribution_id}</a>" in page


def test_the_overview_shows_what_runs_next(marketer, coupon, members):
    post_schedule(marketer, coupon, members, name="Birthday")
    schedule = Schedule.objects.get()
    page = marketer.get(reverse("couponops_overview")).content.decode()
    assert f'data-schedule="{schedule.pk}"' in page and "Birthday" in page and schedule.next_run_in_words in page


class TestCommandLine:
    def run(self, *args):
        out = io.StringIO()
        call_command("schedule", *args, stdout=out)
        return out.getvalue()

    def create(self, *extra):
        return self.run(
            "create",
            *("--name", "Win-back", "--owner", "marketer", "--coupon", "SPRING10", "--source", "demo"),
            *("--table", "warehouse.main.members", "--column", "user_id", "--memo", "win-back"),
            *("--max-coupons", "100", *extra),
        )

    def test_create_list_pause_resume_and_run_now(self, db, coupon, members, staff_user):
        out = self.create("--weekly", "mon@10:30")
        schedule = Schedule.objects.get()
        assert f"Schedule #{schedule.pk} 'Win-back': Weekly on Mon at 10:30" in out and "50 coupons" in out
        assert timezone.localtime(schedule.next_run_at).strftime("%a %H:%M") == "Mon 10:30"
        assert "active" in self.run("list")
        assert "paused" in self.run("pause", str(schedule.pk))
        assert "paused" in self.run("list")
        assert "resumed" in self.run("resume", str(schedule.pk))
        out = self.run("run-now", str(schedule.pk))
        run = ScheduleRun.objects.get()
        assert f"queued request #{run.distribution_id}" in out
        assert DistributionRequest.objects.get().requested_by == staff_user

    def test_a_bad_cron_expression_is_a_clear_error(self, db, coupon, members, staff_user):
        with pytest.raises(CommandError, match="cron: Not a cron expression"):
            self.create("--cron", "every monday")
        assert not Schedule.objects.exists()

    def test_a_fixed_amount_coupon_needs_a_value_limit(self, db, members, staff_user):
        Coupon.objects.create(name="Won", code="SPRING10", discount_kind="amount", discount_amount=500, valid_days=3)
        with pytest.raises(CommandError, match="max_value"):
            self.create("--daily", "09:00")
        self.create("--daily", "09:00", "--max-value", "1000000")
        assert Schedule.objects.get().max_value == 1_000_000

    def test_the_last_day_before_the_first_is_refused(self, db, coupon, members, staff_user):
        today = timezone.localdate()
        with pytest.raises(CommandError, match="last_day"):
            self.create("--daily", "09:00", "--last-day", (today - timedelta(days=1)).isoformat())


def test_a_marketer_manages_schedules_and_a_manager_only_reads_them(client, django_user_model, coupon, members):
    marketer = django_user_model.objects.create_user("kim", password="pw-for-tests-only", is_staff=True)
    marketer.groups.add(Group.objects.get(name="marketer"))
    client.force_login(marketer)
    assert post_schedule(client, coupon, members).status_code == 302
    schedule = Schedule.objects.get()
    assert schedule.owner == marketer

    boss = django_user_model.objects.create_user("boss", password="pw-for-tests-only", is_staff=True)
    boss.groups.add(Group.objects.get(name="manager"))
    client.force_login(boss)
    assert client.get(reverse("admin:campaigns_schedule_change", args=[schedule.pk])).status_code == 200
    assert client.post(reverse("admin:campaigns_schedule_pause", args=[schedule.pk])).status_code == 403
    assert client.get(reverse(ADD_URL)).status_code == 403
