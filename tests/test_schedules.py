"""Recurring distributions on real parts: schedules fire ordinary requests read from Trino into PostgreSQL."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from campaigns import services
from campaigns.models import Schedule, ScheduleRun
from distribution import services as distribution_services
from distribution.actors import Actor
from distribution.models import Coupon, DistributionRequest, IssuedCoupon, Transition

Status = DistributionRequest.Status
Outcome = ScheduleRun.Outcome
SEOUL_9AM_DEC_2 = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)  # 09:00 in Asia/Seoul


def members_sql(first, last):
    return f"SELECT CAST(x AS BIGINT) AS user_id FROM UNNEST(sequence({first}, {last})) t(x)"


@pytest.fixture
def owner(django_user_model):
    """A marketer: the owner drafts each run, so they need the permission to draft requests."""
    user = django_user_model.objects.create_user("owner", password="pw-for-tests-only", is_staff=True)
    user.groups.add(Group.objects.get(name="marketer"))
    return user


@pytest.fixture
def approver(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-for-tests-only")


@pytest.fixture
def run_queue(django_capture_on_commit_callbacks):
    """The worker's service in this process, with on-commit signals delivered."""

    def run():
        with django_capture_on_commit_callbacks(execute=True):
            distribution_services.distribution_run_queue()

    return run


def make_schedule(coupon, owner, table, source="warehouse", **fields):
    defaults = {
        "name": "Welcome",
        "column": "user_id",
        "memo": "welcome coupon for new members",
        "kind": Schedule.Kind.DAILY,
        "at_time": time(9, 0),
        "first_day": date(2026, 12, 1),
        "max_coupons": 1_000,
    }
    schedule = Schedule(coupon=coupon, source=source, table=table, owner=owner, **{**defaults, **fields})
    return services.schedule_save(schedule=schedule, now=datetime(2026, 12, 1, 12, 0, tzinfo=UTC))


def fire(now):
    return services.schedules_run_due(now=now)


@pytest.mark.integration
class TestFromTrino:
    def test_a_table_growing_day_by_day_issues_exactly_its_newcomers(
        self, postgres, warehouse, memory_table, coupon, owner, run_queue
    ):
        table = memory_table(members_sql(1, 300))
        schedule = make_schedule(coupon, owner, table)
        (first,) = fire(SEOUL_9AM_DEC_2)
        run_queue()
        warehouse.execute(f"INSERT INTO {table} {members_sql(301, 420)}")
        (second,) = fire(SEOUL_9AM_DEC_2 + timedelta(days=1))
        run_queue()

        first.distribution.refresh_from_db()
        second.distribution.refresh_from_db()
        assert (first.outcome, first.distribution.status, first.distribution.issued_count) == (
            Outcome.QUEUED,
            Status.SUCCEEDED,
            300,
        )
        assert (second.distribution.issued_count, second.distribution.skipped_count) == (120, 300)
        assert second.distribution.held_count == 300  # the fresh preview at run time saw who holds it
        assert IssuedCoupon.objects.filter(coupon=coupon).count() == 420
        assert second.distribution.requested_by == owner
        assert second.distribution.audience_fingerprint != first.distribution.audience_fingerprint
        schedule.refresh_from_db()
        assert schedule.next_run_at == SEOUL_9AM_DEC_2 + timedelta(days=2)

    def test_a_run_over_its_limit_waits_for_approval_and_issues_nothing_until_approved(
        self, postgres, warehouse, memory_table, coupon, owner, approver, run_queue
    ):
        table = memory_table(members_sql(1, 50))
        make_schedule(coupon, owner, table, max_coupons=40)
        (run,) = fire(SEOUL_9AM_DEC_2)
        run_queue()
        run.distribution.refresh_from_db()
        assert (run.outcome, run.distribution.status) == (Outcome.AWAITING_APPROVAL, Status.AWAITING_APPROVAL)
        assert "50 coupons" in run.note and "40" in run.note
        assert not IssuedCoupon.objects.filter(coupon=coupon).exists()

        with pytest.raises(PermissionDenied):  # four eyes: the owner requested it
            distribution_services.distribution_approve(distribution=run.distribution, actor=Actor.for_user(owner))
        assert distribution_services.distribution_approve(distribution=run.distribution, actor=Actor.for_user(approver))
        run_queue()
        run.distribution.refresh_from_db()
        assert (run.distribution.status, run.distribution.issued_count) == (Status.SUCCEEDED, 50)

    def test_a_fixed_amount_run_over_its_value_limit_waits_for_approval(self, postgres, warehouse, memory_table, owner):
        won = Coupon.objects.create(
            name="3,000 won", code="W3000", discount_kind="amount", discount_amount=3000, valid_days=7
        )
        table = memory_table(members_sql(1, 50))
        make_schedule(won, owner, table, max_value=100_000)  # 50 × 3,000 = 150,000
        (run,) = fire(SEOUL_9AM_DEC_2)
        assert run.outcome == Outcome.AWAITING_APPROVAL and "150,000" in run.note

    def test_a_run_within_its_limits_is_queued_even_above_the_sites_limit(
        self, postgres, warehouse, memory_table, coupon, owner, settings
    ):
        settings.DISTRIBUTION_APPROVAL_COUPONS = 10
        make_schedule(coupon, owner, memory_table(members_sql(1, 50)), max_coupons=100)
        (run,) = fire(SEOUL_9AM_DEC_2)
        assert run.outcome == Outcome.QUEUED
        confirmed = run.distribution.transitions.get(action=Transition.Action.CONFIRMED)
        by_schedule = ("schedule", owner, f"schedule #{run.schedule_id}")
        assert (confirmed.actor_kind, confirmed.actor, confirmed.actor_name) == by_schedule

    def test_a_vanished_table_is_recorded_as_refused_and_the_next_day_runs_again(
        self, postgres, warehouse, memory_table, coupon, owner
    ):
        table = memory_table(members_sql(1, 10))
        make_schedule(coupon, owner, table)
        warehouse.execute(f"DROP TABLE {table}")
        (refused,) = fire(SEOUL_9AM_DEC_2)
        assert refused.outcome == Outcome.REFUSED and refused.distribution is None
        assert "does not exist" in refused.note
        assert not DistributionRequest.objects.exists()
        warehouse.execute(f"CREATE TABLE {table} AS {members_sql(1, 10)}")
        (ran,) = fire(SEOUL_9AM_DEC_2 + timedelta(days=1))
        assert ran.outcome == Outcome.QUEUED


class TestTiming:
    """On the DuckDB demo source: timing does not need the warehouse."""

    def test_nine_daily_in_seoul_runs_at_midnight_utc(self, db, coupon, owner, members):
        schedule = make_schedule(coupon, owner, members, source="demo")
        assert schedule.next_run_at == SEOUL_9AM_DEC_2
        assert [moment.astimezone(UTC).hour for moment in schedule.runs_after(SEOUL_9AM_DEC_2, 5)] == [0] * 5

    def test_it_fires_in_the_sites_time_zone(self, db, coupon, owner, members, settings):
        settings.TIME_ZONE = "Europe/Berlin"
        schedule = make_schedule(coupon, owner, members, source="demo")
        assert schedule.next_run_at == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)

    def test_nothing_fires_before_its_time(self, db, coupon, owner, members):
        make_schedule(coupon, owner, members, source="demo")
        assert fire(SEOUL_9AM_DEC_2 - timedelta(seconds=1)) == []

    def test_a_time_missed_for_days_runs_once_when_the_worker_is_back(self, db, coupon, owner, members):
        schedule = make_schedule(coupon, owner, members, source="demo")
        back = SEOUL_9AM_DEC_2 + timedelta(days=3, hours=5)  # Dec. 5, 14:00 in Seoul
        assert len(fire(back)) == 1
        assert fire(back + timedelta(minutes=1)) == []
        schedule.refresh_from_db()
        assert schedule.next_run_at == SEOUL_9AM_DEC_2 + timedelta(days=4)
        assert ScheduleRun.objects.get().due_at == SEOUL_9AM_DEC_2

    def test_a_paused_schedule_skips_and_issues_nothing(self, db, coupon, owner, members):
        schedule = make_schedule(coupon, owner, members, source="demo")
        assert services.schedule_pause(schedule=schedule)
        assert not services.schedule_pause(schedule=schedule)
        (run,) = fire(SEOUL_9AM_DEC_2)
        assert (run.outcome, run.distribution) == (Outcome.SKIPPED_PAUSED, None)
        assert not DistributionRequest.objects.exists()

        assert services.schedule_resume(schedule=schedule)
        (run,) = fire(SEOUL_9AM_DEC_2 + timedelta(days=1))
        assert run.outcome == Outcome.QUEUED

    def test_a_run_still_waiting_makes_the_next_one_skip_with_a_note(self, db, coupon, owner, members):
        make_schedule(coupon, owner, members, source="demo", max_coupons=10)
        (waiting,) = fire(SEOUL_9AM_DEC_2)
        (skipped,) = fire(SEOUL_9AM_DEC_2 + timedelta(days=1))
        assert (waiting.outcome, skipped.outcome, skipped.distribution) == (
            Outcome.AWAITING_APPROVAL,
            Outcome.SKIPPED_OVERLAP,
            None,
        )
        assert f"request #{waiting.distribution_id}" in skipped.note and "awaiting approval" in skipped.note
        assert DistributionRequest.objects.count() == 1

    def test_a_queued_run_makes_run_now_skip_and_a_finished_one_lets_it_go(
        self, db, coupon, owner, members, duckdb_source, run_queue
    ):
        schedule = make_schedule(coupon, owner, members, source="demo")
        fire(SEOUL_9AM_DEC_2)
        assert services.schedule_run_now(schedule=schedule).outcome == Outcome.SKIPPED_OVERLAP
        run_queue()
        duckdb_source("INSERT INTO members SELECT i, 'y' FROM range(51, 61) t(i)")
        again = services.schedule_run_now(schedule=schedule)
        assert (again.outcome, again.started_by_hand) == (Outcome.QUEUED, True)
        run_queue()
        again.distribution.refresh_from_db()
        assert (again.distribution.issued_count, again.distribution.skipped_count) == (10, 50)

    def test_a_weekly_schedule_runs_on_its_days_only(self, db, coupon, owner, members):
        schedule = make_schedule(coupon, owner, members, source="demo", kind=Schedule.Kind.WEEKLY, weekdays=[0, 2])
        local = [timezone.localtime(moment) for moment in schedule.runs_after(SEOUL_9AM_DEC_2, 4)]
        assert [(moment.strftime("%a %d"), moment.hour) for moment in local] == [
            ("Mon 07", 9),
            ("Wed 09", 9),
            ("Mon 14", 9),
            ("Wed 16", 9),
        ]

    def test_the_last_day_ends_the_schedule(self, db, coupon, owner, members):
        schedule = make_schedule(coupon, owner, members, source="demo", last_day=date(2026, 12, 2))
        fire(SEOUL_9AM_DEC_2)
        schedule.refresh_from_db()
        assert schedule.next_run_at is None

    def test_a_cron_expression_runs_at_its_times(self, db, coupon, owner, members):
        schedule = make_schedule(coupon, owner, members, source="demo", kind=Schedule.Kind.CRON, cron="30 7 * * 1-5")
        assert timezone.localtime(schedule.next_run_at).strftime("%a %H:%M") == "Wed 07:30"

    def test_the_rule_reads_in_words_in_korean(self, db, coupon, owner, members):
        daily = make_schedule(coupon, owner, members, source="demo")
        weekly = make_schedule(coupon, owner, members, source="demo", kind=Schedule.Kind.WEEKLY, weekdays=[2, 0])
        assert (daily.rule_in_words, weekly.rule_in_words) == ("Daily at 09:00", "Weekly on Mon, Wed at 09:00")
        with translation.override("ko"):
            assert (daily.rule_in_words, weekly.rule_in_words) == ("매일 09:00", "매주 월·수 09:00")

    @pytest.mark.parametrize(
        "fields, field",
        [
            ({"kind": "weekly", "weekdays": []}, "weekdays"),
            ({"kind": "cron", "cron": "every day"}, "cron"),
            ({"at_time": None}, "at_time"),
            ({"last_day": date(2026, 11, 30)}, "last_day"),
        ],
    )
    def test_an_incomplete_rule_is_refused_on_its_field(self, db, coupon, owner, members, fields, field):
        with pytest.raises(ValidationError) as error:
            make_schedule(coupon, owner, members, source="demo", **fields)
        assert field in error.value.message_dict
        assert not Schedule.objects.exists()

    def test_a_fixed_amount_coupon_needs_a_value_limit(self, db, owner, members):
        won = Coupon.objects.create(name="Won", code="WON", discount_kind="amount", discount_amount=1000, valid_days=7)
        with pytest.raises(ValidationError) as error:
            make_schedule(won, owner, members, source="demo")
        assert "max_value" in error.value.message_dict

    def test_saving_takes_a_preview_of_the_next_run(self, db, coupon, owner, members):
        schedule = make_schedule(coupon, owner, members, source="demo", max_coupons=10)
        assert (schedule.preview["targets"], schedule.preview["would_issue"]) == (50, 50)
        assert "more than 10 need approval" in schedule.preview["approval_reasons"][0]


def test_an_owner_who_may_no_longer_draft_gets_a_refused_run(db, coupon, owner, members):
    make_schedule(coupon, owner, members, source="demo")
    owner.groups.clear()
    (run,) = fire(SEOUL_9AM_DEC_2)
    assert (run.outcome, run.distribution) == (Outcome.REFUSED, None)
    assert "permission" in run.note and not DistributionRequest.objects.exists()


def test_a_day_without_newcomers_issues_nothing_and_says_so(db, coupon, owner, members, run_queue):
    make_schedule(coupon, owner, members, source="demo")
    fire(SEOUL_9AM_DEC_2)
    run_queue()
    (quiet,) = fire(SEOUL_9AM_DEC_2 + timedelta(days=1))
    assert (quiet.outcome, quiet.distribution) == (Outcome.NOTHING_NEW, None)
    assert "already holds" in quiet.note and DistributionRequest.objects.count() == 1
