"""Managers export the distribution history (CSV, XLSX) and move coupons in and out."""

import io

import openpyxl
import tablib
from django.urls import reverse

from distribution import services
from distribution.models import Coupon, DistributionRequest
from distribution.resources import CouponResource, DistributionRequestResource, TransitionResource
from tests.helpers import by


def test_request_history_exports_with_counts_and_names(db, coupon, duckdb_source, staff_user):
    duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 11) t(i)")
    services.distribution_submit(
        distribution=DistributionRequest(
            coupon=coupon, source="demo", table="warehouse.main.members", column="user_id", memo="spring"
        ),
        actor=by(staff_user),
    )
    services.distribution_run_queue()
    dataset = DistributionRequestResource().export()
    row = dict(zip(dataset.headers, dataset[0], strict=False))
    assert (row["Coupon code"], row["Requested by"], row["Status"], row["Issued"]) == (
        "SPRING10",
        "marketer",
        "Succeeded",
        10,
    )
    workbook = openpyxl.load_workbook(io.BytesIO(dataset.export("xlsx")))
    assert (workbook.active["A1"].value, workbook.active["A2"].value) == ("Request", row["Request"])


def test_coupons_import_by_code_and_export(db):
    data = tablib.Dataset(headers=["code", "name", "discount_kind", "discount_amount", "valid_days", "is_active"])
    data.append(["FALL5", "Fall 5,000 won", "amount", "5000", "7", "1"])
    result = CouponResource().import_data(data, dry_run=False)
    assert not result.has_errors()
    assert Coupon.objects.get(code="FALL5").valid_days == 7
    assert "FALL5" in CouponResource().export().csv


def test_export_and_import_pages_open(client, staff_user):
    client.force_login(staff_user)
    assert client.get(reverse("admin:distribution_distributionrequest_export")).status_code == 200
    assert client.get(reverse("admin:distribution_coupon_import")).status_code == 200
    coupons = client.get(reverse("admin:distribution_coupon_changelist")).content.decode()
    assert reverse("admin:distribution_issuedcoupon_list") in coupons


def test_the_audit_trail_exports_every_transition_with_its_actor_and_counts(
    db, coupon, duckdb_source, staff_user, client
):
    duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 11) t(i)")
    distribution = services.distribution_submit(
        distribution=DistributionRequest(
            coupon=coupon, source="demo", table="warehouse.main.members", column="user_id", memo="spring"
        ),
        actor=by(staff_user),
    )
    services.distribution_run_queue()
    dataset = TransitionResource().export(queryset=distribution.transitions.order_by("at", "pk"))
    rows = [dict(zip(dataset.headers, row, strict=False)) for row in dataset]
    assert [(r["What happened"], r["By"], r["Issued"]) for r in rows] == [
        ("Drafted with a preview", staff_user.get_username(), 0),
        ("Confirmed", staff_user.get_username(), 0),
        ("Started", "the system", 0),  # as the page's history says it: never "worker" or "watchdog"
        ("Succeeded", "the system", 10),
    ]
    assert {r["Request"] for r in rows} == {distribution.pk}
    client.force_login(staff_user)
    assert client.get(reverse("admin:distribution_transition_export")).status_code == 200
