"""The lifecycle's table and the defects people found where the moves were hand-written: a re-issue that could
not be undone, a rejection that read "Cancelled", a preview that would issue nothing but offered to confirm, and
codes equal but for case."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from distribution import lifecycle, services
from distribution.models import Coupon, DistributionRequest, IssuedCoupon
from distribution.resources import DistributionRequestResource
from distribution.signals import Event
from notifications.messages import render
from tests.helpers import by

Status = lifecycle.Status
Move = lifecycle.Move


def submit(coupon, table, user=None):
    return services.distribution_submit(
        actor=by(user),
        distribution=DistributionRequest(
            coupon=coupon, source="demo", table=f"warehouse.main.{table}", column="user_id", memo="lifecycle"
        ),
    )


def draft(coupon, table, user):
    return services.distribution_draft(
        actor=by(user),
        distribution=DistributionRequest(
            coupon=coupon, source="demo", table=f"warehouse.main.{table}", column="user_id", memo="lifecycle"
        ),
    )


@pytest.fixture
def tables(duckdb_source):
    duckdb_source("CREATE TABLE first AS SELECT i AS user_id FROM range(1, 51) t(i)")
    duckdb_source("CREATE TABLE corrected AS SELECT i AS user_id FROM range(1, 61) t(i)")
    duckdb_source("CREATE TABLE nobody AS SELECT CAST(i AS BIGINT) - 10 AS user_id FROM range(1, 6) t(i)")


def role(django_user_model, name, group):
    user = django_user_model.objects.create_user(name, password="pw-for-tests-only", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


class TestTheTable:
    def test_every_move_is_declared_once_with_a_known_rule_for_who(self):
        assert set(lifecycle.MOVES) == set(Move)
        assert all(rule.who in lifecycle.WHO_TESTS for rule in lifecycle.MOVES.values())

    def test_the_events_are_the_moves_that_announce_something(self):
        announced = {o.event for rule in lifecycle.MOVES.values() for o in rule.outcomes if o.event}
        assert {event.value for event in Event} == announced

    def test_finished_statuses_are_left_only_by_a_persons_move(self):
        for action, rule in lifecycle.MOVES.items():
            if rule.sources & lifecycle.FINISHED:
                assert rule.who != lifecycle.Who.SYSTEM, action


@pytest.mark.integration
class TestAnUndoThatAlwaysWorks:
    def test_a_request_that_only_reissued_can_be_revoked_exactly(self, db, coupon, tables):
        first = submit(coupon, "first")
        services.distribution_run_queue()
        assert services.distribution_revoke(distribution=first, actor=by())
        services.distribution_run_queue()
        second = submit(coupon, "first")  # the same members: all 50 get their coupon back, none is new
        services.distribution_run_queue()
        second.refresh_from_db()
        assert (second.issued_count, second.reissued_count) == (0, 50)
        assert second.is_revocable
        assert services.distribution_revoke(distribution=second, actor=by())
        services.distribution_run_queue()
        second.refresh_from_db()
        assert (second.status, second.revoked_count) == (Status.REVOKED, 50)
        assert not IssuedCoupon.objects.filter(coupon=coupon, deleted_at=None).exists()

    def test_a_partly_finished_request_can_be_revoked(self, db, coupon, tables):
        first = submit(coupon, "first")
        services.distribution_run_queue()
        DistributionRequest.objects.filter(pk=first.pk).update(status=Status.FAILED)  # as a run that failed
        first.refresh_from_db()
        assert first.is_revocable and services.distribution_revoke(distribution=first, actor=by())

    def test_the_revoke_button_shows_for_a_reissuing_request(self, db, coupon, tables, marketer):
        first = submit(coupon, "first")
        services.distribution_run_queue()
        services.distribution_revoke(distribution=first, actor=by())
        services.distribution_run_queue()
        second = submit(coupon, "first")
        services.distribution_run_queue()
        page = marketer.get(reverse("admin:distribution_distributionrequest_change", args=[second.pk]))
        assert reverse("admin:distribution_distributionrequest_revoke", args=[second.pk]) in page.content.decode()


@pytest.mark.integration
class TestARejectionIsARejection:
    @pytest.fixture
    def rejected(self, db, coupon, tables, settings, django_user_model):
        settings.DISTRIBUTION_APPROVAL_COUPONS = 10
        requester = role(django_user_model, "ann", "marketer")
        manager = role(django_user_model, "max", "manager")
        distribution = draft(coupon, "first", requester)
        services.distribution_confirm(distribution=distribution, actor=by(requester))
        assert services.distribution_reject(distribution=distribution, actor=by(manager), reason="Wrong audience")
        distribution.refresh_from_db()
        return distribution

    def test_it_has_its_own_status_with_who_and_why(self, rejected):
        assert rejected.status == Status.REJECTED and rejected.get_status_display() == "Rejected"
        assert (rejected.rejected_by.username, rejected.rejection_reason) == ("max", "Wrong audience")
        assert rejected.cancelled_by is None and rejected.is_finished

    def test_slack_says_rejected_with_the_reason(self, rejected):
        text = render(Event.REJECTED, rejected)["text"]
        assert "rejected" in text and "Wrong audience" in text and "cancelled" not in text.lower()

    def test_the_export_does_not_say_cancelled_by(self, rejected):
        row = DistributionRequestResource().export(DistributionRequest.objects.filter(pk=rejected.pk)).dict[0]
        assert "Rejected" in row.values() and "max" not in [row.get("cancelled by"), row.get("Cancelled by")]

    def test_a_reason_is_required(self, db, coupon, tables, settings, django_user_model):
        settings.DISTRIBUTION_APPROVAL_COUPONS = 10
        requester, manager = role(django_user_model, "ann", "marketer"), role(django_user_model, "max", "manager")
        distribution = draft(coupon, "first", requester)
        services.distribution_confirm(distribution=distribution, actor=by(requester))
        with pytest.raises(ValidationError):
            services.distribution_reject(distribution=distribution, actor=by(manager), reason="  ")
        distribution.refresh_from_db()
        assert distribution.status == Status.AWAITING_APPROVAL

    def test_a_discarded_draft_is_cancelled_by_nobody(self, db, coupon, tables, django_user_model):
        requester = role(django_user_model, "ann", "marketer")
        distribution = draft(coupon, "first", requester)
        assert services.distribution_discard(distribution=distribution, actor=by(requester))
        distribution.refresh_from_db()
        assert (distribution.status, distribution.cancelled_by) == (Status.DISCARDED, None)


@pytest.mark.integration
class TestNothingToIssue:
    def test_a_preview_of_an_audience_that_holds_it_all_says_so_and_cannot_be_confirmed(
        self, db, coupon, tables, marketer, staff_user
    ):
        submit(coupon, "first")
        services.distribution_run_queue()
        again = draft(coupon, "first", staff_user)
        page = marketer.get(reverse("admin:distribution_distributionrequest_change", args=[again.pk])).content
        assert b'id="nothing-to-issue"' in page and b'id="confirm"' not in page
        assert "already holds this coupon" in page.decode()
        with pytest.raises(ValidationError, match="already holds this coupon"):
            services.distribution_confirm(distribution=again, actor=by(staff_user))
        again.refresh_from_db()
        assert again.status == Status.DRAFT

    def test_an_audience_of_only_invalid_ids_is_refused_with_its_reason(self, db, coupon, tables):
        with pytest.raises(ValidationError, match="has no valid user ids"):
            submit(coupon, "nobody")
        assert not DistributionRequest.objects.exists()


@pytest.mark.integration
class TestCodesIgnoringCase:
    def test_a_code_equal_but_for_case_is_refused_on_the_code_field(self, db, coupon):
        twin = Coupon(name="Twin", code="spring10", discount_kind="percent", discount_amount=10, valid_days=14)
        with pytest.raises(ValidationError) as error:
            twin.full_clean()
        assert "ignoring case" in " ".join(error.value.message_dict["code"])

    def test_the_database_refuses_it_too(self, postgres, coupon):
        with pytest.raises(IntegrityError), transaction.atomic():
            Coupon.objects.create(
                name="Twin", code="Spring10", discount_kind="percent", discount_amount=1, valid_days=1
            )

    def test_the_api_and_the_command_line_find_a_code_in_any_case(self, db, coupon):
        from api.selectors import coupon_by_code

        assert coupon_by_code("spring10") == coupon


@pytest.mark.integration
def test_support_without_the_cancel_permission_is_refused_and_nothing_changes(db, coupon, tables, django_user_model):
    support = role(django_user_model, "sue", "support")
    distribution = submit(coupon, "first")
    with pytest.raises(PermissionDenied):
        services.distribution_cancel(distribution=distribution, actor=by(support))
    distribution.refresh_from_db()
    assert distribution.status == Status.QUEUED and not distribution.transitions.filter(action=Move.CANCELLED)


def test_the_roles_have_the_permissions_the_table_asks_for(db):
    manager = Group.objects.get(name="manager").permissions
    assert manager.filter(codename="approve_distributionrequest").exists()
    assert Permission.objects.filter(codename="revoke_distributionrequest").exists()


@pytest.mark.integration
def test_the_migration_stops_on_codes_equal_but_for_case_and_names_them(postgres):
    from importlib import import_module

    from django.apps import apps
    from django.db import connection

    migration = import_module("distribution.migrations.0016_lifecycle")
    with connection.cursor() as cursor:  # as a database from before the rule (rolled back with the test)
        cursor.execute("DROP INDEX coupon_code_unique_ignoring_case")
    for code in ("WELCOME10", "welcome10"):
        Coupon.objects.create(name=code, code=code, discount_kind="percent", discount_amount=10, valid_days=7)
    with pytest.raises(RuntimeError, match="“WELCOME10” \\(id \\d+\\), “welcome10”"):
        migration.refuse_codes_equal_but_for_case(apps, None)
    assert Coupon.objects.filter(code__iexact="welcome10").count() == 2  # nothing renamed
