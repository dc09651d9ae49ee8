"""The control group's records and results: the request's list and export, conversions, the results page."""

import csv
import io
import math

import openpyxl
import pytest
from django.core.management import call_command
from django.utils import timezone

from campaigns.results import coupon_results
from campaigns.stats import two_proportion
from distribution.holdout import coupon_holdout
from distribution.models import DistributionRequest, HeldOutMember, IssuedCoupon
from notifications.messages import held_out_fact
from tests.test_holdout import holdout_coupon

pytestmark = pytest.mark.django_db


def finished_run(coupon, ids):
    """A finished request of the coupon over `ids`, as the worker leaves it: the rest issued, some used."""
    now = timezone.now()
    held = [i for i in ids if coupon_holdout(coupon).holds_out(i)]
    kept = [i for i in ids if i not in set(held)]
    distribution = DistributionRequest.objects.create(
        coupon=coupon,
        source="demo",
        table="t",
        column="c",
        memo="m",
        status="succeeded",
        read_count=len(ids),
        issued_count=len(kept),
        held_out_count=len(held),
    )
    IssuedCoupon.objects.bulk_create(
        IssuedCoupon(coupon=coupon, user_id=i, distribution=distribution, issued_at=now, expires_at=now) for i in kept
    )
    HeldOutMember.objects.bulk_create(
        HeldOutMember(distribution=distribution, coupon=coupon, user_id=i, held_out_at=now) for i in held
    )
    return distribution, kept, held


# --- the test ------------------------------------------------------------------------------------


def test_the_two_proportion_test_gives_the_textbook_numbers():
    lift = two_proportion(x1=300, n1=1000, x2=20, n2=100)
    pooled = 320 / 1100
    assert math.isclose(lift.z, 0.1 / math.sqrt(pooled * (1 - pooled) * (1 / 1000 + 1 / 100)))
    margin = 1.959964 * math.sqrt(0.3 * 0.7 / 1000 + 0.2 * 0.8 / 100)
    assert math.isclose(lift.low, 0.1 - margin) and math.isclose(lift.high, 0.1 + margin)
    assert lift.significant and math.isclose(lift.p_value, math.erfc(lift.z / math.sqrt(2)))


def test_equal_rates_are_no_difference_and_an_empty_group_no_result():
    assert not two_proportion(x1=50, n1=500, x2=5, n2=50).significant
    assert two_proportion(x1=0, n1=10, x2=0, n2=0) is None
    assert two_proportion(x1=0, n1=10, x2=0, n2=5).z == 0.0


# --- records -------------------------------------------------------------------------------------


def test_the_request_lists_and_exports_its_held_out_members(marketer):
    coupon = holdout_coupon(percent="20")
    distribution, _kept, held = finished_run(coupon, list(range(1, 2001)))
    page = marketer.get(f"/admin/distribution/distributionrequest/{distribution.pk}/change/")
    assert "/admin/distribution/coupon/held-out/?request=" in page.content.decode()

    listed = marketer.get(f"/admin/distribution/coupon/held-out/?request={distribution.pk}")
    assert listed.status_code == 200 and str(held[0]) in listed.content.decode()
    assert listed.context["next_after"] == held[99]

    exported = marketer.get(f"/admin/distribution/coupon/held-out/?request={distribution.pk}&format=csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [int(row[2]) for row in rows[1:]] == held and rows[1][1] == coupon.code

    workbook = marketer.get(f"/admin/distribution/coupon/held-out/?request={distribution.pk}&format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    assert [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)] == held


def test_the_held_out_list_needs_a_request(marketer):
    assert marketer.get("/admin/distribution/coupon/held-out/?request=abc").status_code == 404


def test_the_slack_message_and_the_request_export_count_the_held_out(db):
    coupon = holdout_coupon()
    distribution, _kept, held = finished_run(coupon, list(range(1, 1001)))
    assert held_out_fact(distribution)[0][1] == f"{len(held):,}"
    assert held_out_fact(DistributionRequest(held_out_count=0)) == []


@pytest.mark.integration
def test_conversions_imported_from_the_warehouse_mark_the_control_group(postgres, warehouse, memory_table):
    coupon = holdout_coupon()
    distribution, _kept, held = finished_run(coupon, list(range(1, 5001)))
    converted = held[: len(held) // 2]
    table = memory_table(
        "SELECT user_id FROM (VALUES " + ", ".join(f"({i})" for i in [*converted, 4_999_999]) + ") AS t(user_id)"
    )
    call_command("import_conversions", coupon=coupon.code, source="warehouse", table=table, column="user_id")
    marked = HeldOutMember.objects.filter(distribution=distribution, converted_at__isnull=False)
    assert sorted(marked.values_list("user_id", flat=True)) == converted
    call_command("import_conversions", coupon=coupon.code, source="warehouse", table=table, column="user_id")
    assert marked.count() == len(converted)


# --- the results page ----------------------------------------------------------------------------


def results_coupon():
    """A campaign where the coupon lifted redemption: 30 % of the issued used it, 10 % of the control converted."""
    coupon = holdout_coupon()
    distribution, kept, held = finished_run(coupon, list(range(1, 20001)))
    IssuedCoupon.objects.filter(coupon=coupon, user_id__in=kept[: len(kept) * 3 // 10]).update(used_at=timezone.now())
    HeldOutMember.objects.filter(distribution=distribution, user_id__in=held[: len(held) // 10]).update(
        converted_at=timezone.now()
    )
    return coupon, kept, held


def test_results_count_both_groups_and_their_conversions(db):
    coupon, kept, held = results_coupon()
    results = coupon_results(coupon=coupon)
    assert (results.issued, results.redeemed) == (len(kept), len(kept) * 3 // 10)
    assert (results.held_out, results.converted) == (len(held), len(held) // 10)
    assert results.lift.significant and results.lift.difference > 0.15


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", ["raised the rate by", "Control group", "z-test"]), ("ko", ["대조군", "포인트", "z-검정"])],
)
def test_the_results_page_reads_at_a_glance_in_korean_and_english(marketer, language, words):
    coupon, _kept, _held = results_coupon()
    page = marketer.get(f"/admin/distribution/coupon/{coupon.pk}/results/", HTTP_ACCEPT_LANGUAGE=language)
    text = page.content.decode()
    assert page.status_code == 200 and "<svg" in text
    assert all(word in text for word in words), [word for word in words if word not in text]
    assert (
        f"/admin/distribution/coupon/{coupon.pk}/results/"
        in marketer.get("/admin/distribution/coupon/").content.decode()
    )


def test_a_coupon_without_runs_has_no_results_yet(marketer, coupon):
    page = marketer.get(f"/admin/distribution/coupon/{coupon.pk}/results/")
    assert page.status_code == 200 and page.context["results"].lift is None


def test_the_preview_shows_the_control_group_for_a_coupon_that_keeps_one(db, coupon):
    from distribution.admin.display import preview_rows

    held = holdout_coupon(percent="12.5")
    draft = DistributionRequest(coupon=held, target_count=1000, held_count=0, holdout_count=125)
    rows = {key: value for key, _label, value in preview_rows(draft)}
    assert (rows["holdout"], rows["would-issue"]) == ("125", "875")
    assert "holdout" not in {key for key, *_ in preview_rows(DistributionRequest(coupon=coupon, target_count=10))}


def test_the_coupon_form_refuses_a_new_percentage_after_the_coupon_issued(marketer):
    coupon = holdout_coupon()
    finished_run(coupon, list(range(1, 101)))
    page = marketer.get(f"/admin/distribution/coupon/{coupon.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields} | {"holdout_percent": "20", "is_active": "on"}
    answer = marketer.post(
        f"/admin/distribution/coupon/{coupon.pk}/change/", {k: v for k, v in data.items() if v is not None}
    )
    assert answer.status_code == 200 and "holdout_percent" in answer.context["adminform"].form.errors
    coupon.refresh_from_db()
    assert coupon.holdout_percent == 10
