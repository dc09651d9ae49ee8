"""The control group's cost: the full path with a 10 % holdout against the same path without one.

`python -m bench.run --rows N --only holdout` runs both `--repeats` times, alternating, and compares the
medians. Needs Django set up against the benchmark's databases (bench/run.py does it)."""

from decimal import Decimal

from django.db import connection

from distribution.models import HeldOutMember, IssuedCoupon

from . import measure


def holdout_path(rows, percent):
    """One run of the full path for a fresh coupon holding `percent` out; checked exact."""
    measure.truncate()
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {HeldOutMember._meta.db_table}")
    coupon = measure.new_coupon()
    coupon.holdout_percent = Decimal(percent)
    coupon.save(update_fields=["holdout_percent"])
    distribution, seconds, peak, submit = measure.through_worker(coupon, rows)
    check_exact(distribution, rows)
    method = f"3. couponops, {percent}% held out" if percent else "3. couponops: queued → worker → Trino → COPY"
    note = f"{distribution.held_out_count:,} held out; submit checks {submit:.1f} s before"
    return measure.Row(method, rows, seconds, peak, note)


def check_exact(distribution, rows):
    distribution.refresh_from_db()
    held = HeldOutMember.objects.filter(distribution=distribution).count()
    issued = IssuedCoupon.objects.filter(coupon=distribution.coupon).count()
    counts = (distribution.read_count, distribution.issued_count + distribution.held_out_count, held, issued)
    if counts != (rows, rows, distribution.held_out_count, distribution.issued_count):
        raise SystemExit(f"bench: holdout counts are wrong: {counts}")


def run_holdout(rows, repeats=3):
    """Rows for the table: the median of each variant, then the difference."""
    runs = {"0": [], "10": []}
    for _ in range(repeats):
        for percent, done in runs.items():
            done.append(holdout_path(rows, percent))
    medians = []
    for done in runs.values():
        median = measure.median_run(done)
        median.note = f"median of {repeats}: " + ", ".join(f"{r.seconds:.1f}" for r in done) + " s; " + median.note
        medians.append(median)
    plain, held = medians
    held.note += f"; {100 * (held.seconds / plain.seconds - 1):+.1f}% against no holdout"
    return medians


def markdown(rows, results):
    lines = [
        f"Rows: {rows:,}",
        "",
        "| method | rows | seconds | rows/s | worker peak RSS | note |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        rss = f"{r.peak_rss_mb:,.0f} MB" if r.peak_rss_mb else "–"
        lines.append(f"| {r.method} | {r.rows:,} | {r.seconds:,.1f} | {r.rate:,.0f} | {rss} | {r.note} |")
    return "\n".join(lines)
