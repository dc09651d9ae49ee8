"""Exports are data, never formulas: every cell a manager opens in Excel is shown, not run.

Everything goes through the admin as a logged-in staff user would: the export form, the file it
answers, opened with openpyxl (XLSX) and read back with the csv module (CSV); imports through the
import and confirm pages.
"""

import csv
import io

import openpyxl
import pytest
from django.contrib import admin
from django.core import checks
from django.urls import reverse
from import_export.admin import ExportMixin

from common.exports import check_export_admins
from distribution.models import Coupon, DistributionRequest
from distribution.resources import CouponResource, DistributionRequestResource

HOSTILE = {
    '=HYPERLINK("http://x","click")': '\'=HYPERLINK("http://x","click")',
    "+1+1": "'+1+1",
    "-2+3": "'-2+3",
    "@SUM(A1)": "'@SUM(A1)",
    "\tleading tab": "'\tleading tab",
    "\rcarriage return": "'\rcarriage return",
    "봄맞이 감사 쿠폰 — 전 회원": "봄맞이 감사 쿠폰 — 전 회원",
    "a plain memo = fine": "a plain memo = fine",
}
CSV_FORMAT, XLSX_FORMAT = "0", "1"


@pytest.fixture
def hostile_requests(db, coupon, staff_user):
    """One distribution per hostile memo, its error a formula too, one count negative."""
    for memo in HOSTILE:
        DistributionRequest.objects.create(
            coupon=coupon,
            source="demo",
            table="=cmd|' /C calc'!A0",
            column="user_id",
            memo=memo,
            requested_by=staff_user,
            status=DistributionRequest.Status.FAILED,
            error_message="-1+cmd",
            issued_count=1234,
            skipped_count=-7,
        )


def export(client, model, resource, file_format):
    """The bytes the admin's export form answers, every field ticked as the form starts."""
    data = {"format": file_format, "resource": "0"}
    data.update({f"{resource.__name__.lower()}_{name}": "on" for name in resource().get_export_order()})
    response = client.post(reverse(f"admin:distribution_{model}_export"), data)
    assert response.status_code == 200, response.content[:500]
    return response


def csv_rows(response):
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


def xlsx_rows(response):
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    cells = list(sheet.iter_rows())
    headers = [cell.value for cell in cells[0]]
    return [dict(zip(headers, row, strict=False)) for row in cells[1:]]


def test_the_csv_export_quotes_every_formula_and_keeps_counts_numbers(client, staff_user, hostile_requests):
    client.force_login(staff_user)
    rows = csv_rows(export(client, "distributionrequest", DistributionRequestResource, CSV_FORMAT))
    assert sorted(row["Memo"] for row in rows) == sorted(HOSTILE.values())
    assert {(row["Table"], row["Error"]) for row in rows} == {("'=cmd|' /C calc'!A0", "'-1+cmd")}
    # Counts are written as numbers: no quote, the minus sign kept, so Excel sums them.
    assert {(row["Skipped (already held)"], row["Issued"].replace(",", "")) for row in rows} == {("-7", "1234")}


def test_the_csv_export_starts_with_a_byte_order_mark_so_excel_reads_korean(client, staff_user, hostile_requests):
    client.force_login(staff_user)
    content = export(client, "distributionrequest", DistributionRequestResource, CSV_FORMAT).content
    assert content.startswith(b"\xef\xbb\xbf")
    assert "봄맞이 감사 쿠폰".encode() in content


def test_the_xlsx_export_stores_formulas_as_text_and_counts_as_numbers(client, staff_user, hostile_requests):
    client.force_login(staff_user)
    rows = xlsx_rows(export(client, "distributionrequest", DistributionRequestResource, XLSX_FORMAT))
    # XML stores a carriage return as a line feed; what matters is the quote in front.
    assert sorted(row["Memo"].value for row in rows) == sorted(v.replace("\r", "\n") for v in HOSTILE.values())
    cells = [cell for row in rows for cell in (row["Memo"], row["Table"], row["Error"])]
    assert {cell.data_type for cell in cells} == {"s"}, "no cell is stored as a formula"
    assert {(row["Skipped (already held)"].value, row["Issued"].value) for row in rows} == {(-7, 1234)}
    assert {row["Skipped (already held)"].data_type for row in rows} == {"n"}


def test_an_imported_formula_is_stored_as_text_and_exported_neutralised(client, staff_user):
    client.force_login(staff_user)
    uploaded = "code,name,discount_kind,discount_amount,valid_days,is_active\nEVIL1,=1+1,amount,5000,7,1\n"
    import_csv(client, uploaded.encode("utf-8"))
    assert Coupon.objects.get(code="EVIL1").name == "=1+1"

    exported = export(client, "coupon", CouponResource, CSV_FORMAT)
    assert [row["name"] for row in csv_rows(exported)] == ["'=1+1"]
    sheet = xlsx_rows(export(client, "coupon", CouponResource, XLSX_FORMAT))
    assert [(row["name"].value, row["name"].data_type) for row in sheet] == [("'=1+1", "s")]

    # The exported file imported again changes nothing: the quote was ours, not the name's.
    import_csv(client, exported.content)
    assert Coupon.objects.get(code="EVIL1").name == "=1+1"


def import_csv(client, content):
    upload = io.BytesIO(content)
    upload.name = "coupons.csv"
    page = client.post(
        reverse("admin:distribution_coupon_import"), {"format": CSV_FORMAT, "resource": "0", "import_file": upload}
    )
    assert page.status_code == 200 and "confirm_form" in page.context, page.content[:2000]
    done = client.post(reverse("admin:distribution_coupon_process_import"), page.context["confirm_form"].initial)
    assert done.status_code == 302


def test_every_exporting_admin_neutralises_formulas(db):
    exporting = [a for a in admin.site._registry.values() if isinstance(a, ExportMixin)]
    assert len(exporting) >= 2
    assert check_export_admins() == []


def test_an_admin_exporting_without_the_rule_is_a_system_check_error(db):
    class CarelessAdmin(ExportMixin, admin.ModelAdmin):
        pass

    site = admin.site
    original = site._registry.pop(Coupon)
    try:
        site.register(Coupon, CarelessAdmin)
        errors = check_export_admins()
    finally:
        site._registry[Coupon] = original
    assert [(e.id, e.level) for e in errors] == [("couponops.E001", checks.ERROR)]
