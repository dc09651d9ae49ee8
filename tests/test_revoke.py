"""Revoking a request's coupons: soft delete of the unused ones, after a confirmation page; idempotent."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from distribution import selectors, services
from distribution.models import DistributionRequest, IssuedCoupon
from tests.helpers import by


@pytest.fixture
def succeeded(db, coupon, duckdb_source):
    duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 51) t(i)")
    distribution = services.distribution_submit(
        actor=by(),
        distribution=DistributionRequest(
            coupon=coupon, source="demo", table="warehouse.main.members", column="user_id", memo="m"
        ),
    )
    services.distribution_run_queue()
    IssuedCoupon.objects.filter(coupon=coupon, user_id__lte=5).update(used_at=timezone.now())
    distribution.refresh_from_db()
    return distribution


def revoke(distribution, user=None):
    """Asks for the revoke as the admin does, then lets the worker's service do it (in chunks of 7)."""
    claimed = services.distribution_revoke(distribution=distribution, actor=by(user))
    for pending in DistributionRequest.objects.filter(status="revoking"):
        services.distribution_revoke_run(distribution=pending, chunk_size=7)
    return claimed


def test_it_revokes_only_unused_coupons_and_never_deletes(succeeded, staff_user):
    assert selectors.distribution_revoke_preview(distribution=succeeded) == {"to_revoke": 45, "used": 5}
    assert revoke(succeeded, staff_user)
    succeeded.refresh_from_db()
    assert (succeeded.status, succeeded.revoked_count, succeeded.revoked_by) == ("revoked", 45, staff_user)
    assert IssuedCoupon.objects.count() == 50
    assert IssuedCoupon.objects.filter(deleted_at__isnull=False).count() == 45
    assert not IssuedCoupon.objects.filter(used_at__isnull=False, deleted_at__isnull=False).exists()


def test_revoking_twice_changes_nothing(succeeded):
    revoke(succeeded)
    first = list(IssuedCoupon.objects.values_list("deleted_at", flat=True))
    assert not revoke(succeeded)
    assert list(IssuedCoupon.objects.values_list("deleted_at", flat=True)) == first


def test_an_interrupted_revoke_resumes_with_an_exact_count(succeeded, staff_user):
    services.distribution_revoke(distribution=succeeded, actor=by(staff_user))
    succeeded.refresh_from_db()
    # A worker that died after its first ranges: some rows revoked and counted, the rest not yet.
    IssuedCoupon.objects.filter(coupon_id=succeeded.coupon_id, user_id__lte=20, used_at__isnull=True).update(
        deleted_at=succeeded.revoked_at
    )
    DistributionRequest.objects.filter(pk=succeeded.pk).update(revoked_count=15)
    services.distribution_run_queue()  # what the watchdog's next kick does
    succeeded.refresh_from_db()
    assert (succeeded.status, succeeded.revoked_count) == ("revoked", 45)
    assert IssuedCoupon.objects.filter(deleted_at__isnull=False).count() == 45


def test_a_queued_request_cannot_be_revoked(db, coupon, duckdb_source):
    duckdb_source("CREATE TABLE members AS SELECT 1 AS user_id")
    distribution = services.distribution_submit(
        actor=by(),
        distribution=DistributionRequest(
            coupon=coupon, source="demo", table="warehouse.main.members", column="user_id", memo="m"
        ),
    )
    assert not services.distribution_revoke(actor=by(), distribution=distribution)


def test_the_admin_confirms_then_revokes(succeeded, client, staff_user):
    client.force_login(staff_user)
    url = reverse("admin:distribution_distributionrequest_revoke", args=[succeeded.pk])
    change = client.get(reverse("admin:distribution_distributionrequest_change", args=[succeeded.pk])).content.decode()
    assert url in change
    page = client.get(url).content.decode()
    assert "45 unused coupons will be revoked" in page and "5 coupons are already used" in page
    assert not IssuedCoupon.objects.filter(deleted_at__isnull=False).exists()  # a GET changes nothing
    assert client.post(url).status_code == 302
    succeeded.refresh_from_db()
    assert succeeded.status == "revoking"  # the page returned at once; the worker does the rest
    services.distribution_run_queue()
    succeeded.refresh_from_db()
    assert (succeeded.status, succeeded.revoked_count) == ("revoked", 45)


def test_without_the_revoke_permission_the_button_is_hidden_and_the_url_is_403(succeeded, client, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", password="pw-for-tests-only", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_distributionrequest"))
    client.force_login(viewer)
    url = reverse("admin:distribution_distributionrequest_revoke", args=[succeeded.pk])
    change = client.get(reverse("admin:distribution_distributionrequest_change", args=[succeeded.pk]))
    assert change.status_code == 200 and url not in change.content.decode()
    assert client.get(url).status_code == 403 and client.post(url).status_code == 403
    succeeded.refresh_from_db()
    assert succeeded.status == "succeeded"


def test_cancel_and_revoke_appear_in_the_admin_history(succeeded, client, staff_user):
    revoke(succeeded, staff_user)
    client.force_login(staff_user)
    history = client.get(reverse("admin:distribution_distributionrequest_history", args=[succeeded.pk]))
    page = history.content.decode()
    assert 'class="transition-revoke_started"' in page and 'class="transition-revoked"' in page
    assert "<td>marketer</td>" in page and "the system" in page  # the worker, in the history's words
