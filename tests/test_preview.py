"""Before anything is issued: the draft's preview, confirming it once, and four-eyes approval."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ

from distribution import selectors, services
from distribution.models import Coupon, DistributionRequest, IssuedCoupon
from notifications.models import Notification
from tests.helpers import by

Status = DistributionRequest.Status


def draft(coupon, table, source="warehouse", user=None, column="user_id"):
    distribution = DistributionRequest(coupon=coupon, source=source, table=table, column=column, memo="preview test")
    return services.distribution_draft(distribution=distribution, actor=by(user))


def url(name, distribution):
    return reverse(f"admin:distribution_distributionrequest_{name}", args=[distribution.pk])


@pytest.fixture
def approver(django_user_model):
    user = django_user_model.objects.create_user("manager", password="pw-for-tests-only", is_staff=True)
    for codename in ("view_distributionrequest", "approve_distributionrequest"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.mark.integration
class TestPreview:
    def test_the_draft_counts_invalid_duplicate_and_held_ids_and_shows_samples(
        self, postgres, warehouse, memory_table, coupon
    ):
        held = memory_table("SELECT * FROM (VALUES BIGINT '3', 4) t(user_id)")
        services.distribution_submit(
            actor=by(),
            distribution=DistributionRequest(
                coupon=coupon, source="warehouse", table=held, column="user_id", memo="first"
            ),
        )
        services.distribution_run_queue()
        table = memory_table("SELECT * FROM (VALUES BIGINT '1', 2, 2, 3, 4, 5, NULL, NULL, 0, -7) t(user_id)")
        distribution = draft(coupon, table)
        assert (
            distribution.status,
            distribution.target_count,
            distribution.invalid_count,
            distribution.duplicate_count,
            distribution.held_count,
            distribution.would_issue,
        ) == (Status.DRAFT, 5, 4, 1, 2, 3)
        assert distribution.sample_ids == [1, 2, 3, 4, 5]

    def test_the_run_issues_what_the_preview_said_and_never_an_invalid_id(
        self, postgres, warehouse, memory_table, coupon
    ):
        table = memory_table("SELECT * FROM (VALUES BIGINT '1', 2, 2, NULL, 0, -7) t(user_id)")
        distribution = draft(coupon, table)
        services.distribution_confirm(actor=by(), distribution=distribution)
        services.distribution_run_queue()
        distribution.refresh_from_db()
        assert (distribution.status, distribution.issued_count, distribution.skipped_count) == (Status.SUCCEEDED, 2, 0)
        assert distribution.issued_count == distribution.would_issue
        assert sorted(IssuedCoupon.objects.values_list("user_id", flat=True)) == [1, 2]

    def test_the_estimate_comes_from_the_rows_per_second_of_past_runs(self, db, coupon, duckdb_source):
        duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 20001) t(i)")
        assert draft(coupon, "warehouse.main.members", source="demo").estimated_seconds is None
        DistributionRequest.objects.filter(pk=draft(coupon, "warehouse.main.members", source="demo").pk).update(
            status=Status.SUCCEEDED, read_count=1_000_000, rows_per_second=10_000, finished_at=timezone.now()
        )
        assert draft(coupon, "warehouse.main.members", source="demo").estimated_seconds == pytest.approx(2.0)

    def test_above_the_lookup_limit_holders_are_left_to_the_run(self, db, coupon, duckdb_source, settings):
        duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 101) t(i)")
        first = services.distribution_submit(
            actor=by(),
            distribution=DistributionRequest(
                coupon=coupon, source="demo", table="warehouse.main.members", column="user_id", memo="m"
            ),
        )
        services.distribution_run_queue()
        settings.DISTRIBUTION_PREVIEW_HOLDERS_LIMIT = 50
        second = draft(coupon, "warehouse.main.members", source="demo")
        assert (first.pk != second.pk, second.held_count, second.would_issue) == (True, None, 100)


class TestConfirm:
    @pytest.fixture
    def members(self, duckdb_source):
        duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 11) t(i)")
        return "warehouse.main.members"

    def test_confirming_twice_queues_once(self, db, coupon, members, staff_user, django_capture_on_commit_callbacks):
        distribution = draft(coupon, members, source="demo", user=staff_user)
        with django_capture_on_commit_callbacks(execute=True):
            assert services.distribution_confirm(distribution=distribution, actor=by(staff_user)) == Status.QUEUED
            assert services.distribution_confirm(distribution=distribution, actor=by(staff_user)) is None
        assert OrmQ.objects.count() == 1 and DistributionRequest.objects.get().status == Status.QUEUED

    def test_a_double_click_in_the_admin_queues_once_and_says_so(
        self, client, db, coupon, members, staff_user, django_capture_on_commit_callbacks
    ):
        client.force_login(staff_user)
        distribution = draft(coupon, members, source="demo", user=staff_user)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(url("confirm", distribution))
            second = client.post(url("confirm", distribution), follow=True)
        assert "already confirmed; nothing changed" in second.content.decode()
        assert OrmQ.objects.count() == 1

    def test_only_the_requester_confirms_their_draft(self, client, db, coupon, members, staff_user, django_user_model):
        other = django_user_model.objects.create_superuser("other", "o@example.com", "pw-for-tests-only")
        distribution = draft(coupon, members, source="demo", user=staff_user)
        client.force_login(other)
        assert 'id="confirm"' not in client.get(url("change", distribution)).content.decode()
        assert client.post(url("confirm", distribution)).status_code == 403
        distribution.refresh_from_db()
        assert distribution.status == Status.DRAFT

    def test_a_discarded_draft_is_never_announced(self, client, db, coupon, members, staff_user):
        client.force_login(staff_user)
        distribution = draft(coupon, members, source="demo", user=staff_user)
        client.post(url("discard", distribution))
        distribution.refresh_from_db()
        assert distribution.status == Status.DISCARDED and not Notification.objects.exists()
        assert distribution.transitions.filter(action="discarded", actor=staff_user).exists()

    def test_an_expired_coupon_is_refused(self, db, coupon, members):
        coupon.issue_until = timezone.now() - timedelta(days=1)
        coupon.save()
        with pytest.raises(ValidationError) as error:
            draft(coupon, members, source="demo")
        assert "expired" in error.value.message_dict["coupon"][0]

    def test_a_coupon_that_expires_before_the_run_fails_it_cleanly(self, db, coupon, members):
        distribution = services.distribution_submit(
            actor=by(),
            distribution=DistributionRequest(coupon=coupon, source="demo", table=members, column="user_id", memo="m"),
        )
        Coupon.objects.filter(pk=coupon.pk).update(issue_until=timezone.now())
        services.distribution_run_queue()
        distribution.refresh_from_db()
        assert distribution.status == Status.FAILED and "expired" in distribution.error_message
        assert not IssuedCoupon.objects.exists()

    def test_the_budget_counts_only_what_would_be_issued(self, db, coupon, members):
        services.distribution_submit(
            actor=by(),
            distribution=DistributionRequest(coupon=coupon, source="demo", table=members, column="user_id", memo="m"),
        )
        services.distribution_run_queue()
        coupon.budget = 12  # 10 issued, 2 left: the same 10 members again would issue none
        coupon.save()
        assert draft(coupon, members, source="demo").would_issue == 0


class TestApproval:
    @pytest.fixture
    def large(self, duckdb_source, settings):
        settings.DISTRIBUTION_APPROVAL_COUPONS = 5
        duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 11) t(i)")
        return "warehouse.main.members"

    def confirmed(self, coupon, table, user, callbacks):
        distribution = draft(coupon, table, source="demo", user=user)
        with callbacks(execute=True):
            services.distribution_confirm(distribution=distribution, actor=by(user))
        distribution.refresh_from_db()
        return distribution

    def test_a_large_request_waits_for_approval_and_asks_for_it(
        self, db, coupon, large, staff_user, django_capture_on_commit_callbacks
    ):
        distribution = self.confirmed(coupon, large, staff_user, django_capture_on_commit_callbacks)
        assert distribution.status == Status.AWAITING_APPROVAL and distribution.queued_at is None
        assert not OrmQ.objects.filter(key="couponops").exists()
        assert Notification.objects.get().event == "approval_needed"
        assert services.distribution_claim_next() is None

    def test_the_value_limit_applies_to_fixed_amount_coupons(self, db, large, settings):
        settings.DISTRIBUTION_APPROVAL_COUPONS, settings.DISTRIBUTION_APPROVAL_VALUE = 0, 40_000
        amount = Coupon.objects.create(
            name="5,000 off", code="W5000", discount_kind="amount", discount_amount=5_000, valid_days=7
        )
        distribution = draft(amount, large, source="demo")
        assert selectors.distribution_needs_approval(distribution=distribution)  # 10 × 5,000 > 40,000
        settings.DISTRIBUTION_APPROVAL_VALUE = 50_000
        assert not selectors.distribution_needs_approval(distribution=distribution)

    def test_nobody_approves_their_own_request(
        self, client, db, coupon, large, staff_user, django_capture_on_commit_callbacks
    ):
        distribution = self.confirmed(coupon, large, staff_user, django_capture_on_commit_callbacks)
        with pytest.raises(PermissionDenied):
            services.distribution_approve(distribution=distribution, actor=by(staff_user))
        client.force_login(staff_user)
        assert 'id="approve"' not in client.get(url("change", distribution)).content.decode()
        assert client.post(url("approve", distribution)).status_code == 403

    def test_without_the_approve_permission_it_is_403(
        self, client, db, coupon, large, staff_user, django_user_model, django_capture_on_commit_callbacks
    ):
        distribution = self.confirmed(coupon, large, staff_user, django_capture_on_commit_callbacks)
        viewer = django_user_model.objects.create_user("viewer", password="pw-for-tests-only", is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_distributionrequest"))
        client.force_login(viewer)
        assert 'id="approve"' not in client.get(url("change", distribution)).content.decode()
        assert client.post(url("approve", distribution)).status_code == 403

    def test_another_approver_queues_it_and_the_history_says_who(
        self, client, db, coupon, large, staff_user, approver, django_capture_on_commit_callbacks
    ):
        distribution = self.confirmed(coupon, large, staff_user, django_capture_on_commit_callbacks)
        client.force_login(approver)
        assert 'id="approve"' in client.get(url("change", distribution)).content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            client.post(url("approve", distribution))
        distribution.refresh_from_db()
        assert (distribution.status, distribution.approved_by, distribution.confirmed_by) == (
            Status.QUEUED,
            approver,
            staff_user,
        )
        history = list(distribution.transitions.values_list("actor_name", "action"))
        assert ("marketer", "confirmed") in history and ("manager", "approved") in history
        assert OrmQ.objects.filter(key="couponops").count() == 1

    def test_an_approver_can_reject_it_with_a_reason(
        self, db, coupon, large, staff_user, approver, django_capture_on_commit_callbacks
    ):
        distribution = self.confirmed(coupon, large, staff_user, django_capture_on_commit_callbacks)
        assert services.distribution_reject(distribution=distribution, actor=by(approver), reason="Wrong audience")
        distribution.refresh_from_db()
        assert distribution.status == Status.REJECTED  # not "Cancelled": a rejection has its own status
        assert (distribution.rejected_by, distribution.rejection_reason) == (approver, "Wrong audience")
        assert distribution.cancelled_by is None
        rejected = distribution.transitions.get(action="rejected")
        assert (rejected.actor, rejected.details) == (approver, {"reason": "Wrong audience"})
        assert not services.distribution_approve(distribution=distribution, actor=by(approver))


@pytest.mark.integration
def test_overlapping_audiences_issue_each_member_once(postgres, warehouse, memory_table, coupon):
    first = memory_table("SELECT CAST(x AS BIGINT) AS user_id FROM UNNEST(SEQUENCE(1, 600)) t(x)")
    second = memory_table("SELECT CAST(x AS BIGINT) AS user_id FROM UNNEST(SEQUENCE(401, 1000)) t(x)")
    a = services.distribution_submit(
        actor=by(),
        distribution=DistributionRequest(coupon=coupon, source="warehouse", table=first, column="user_id", memo="a"),
    )
    services.distribution_run_queue()
    b = draft(coupon, second)
    assert (b.held_count, b.would_issue) == (200, 400)
    services.distribution_confirm(actor=by(), distribution=b)
    services.distribution_run_queue()
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.issued_count, b.issued_count, b.skipped_count) == (600, 400, 200)
    assert IssuedCoupon.objects.filter(coupon=coupon).count() == 1000
