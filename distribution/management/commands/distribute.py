import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from distribution import services
from distribution.actors import Actor
from distribution.models import Coupon, DistributionRequest


class Command(BaseCommand):
    help = "Queues a distribution of one coupon to every user id in a warehouse table's column."

    def add_arguments(self, parser):
        parser.add_argument("--coupon", required=True, help="the coupon's code")
        parser.add_argument("--source", required=True, help="a source named in settings (e.g. warehouse, demo)")
        parser.add_argument("--table", required=True, help="catalog.schema.table")
        parser.add_argument("--column", required=True, help="the column holding user ids")
        parser.add_argument("--memo", default="", help="why: the campaign this audience is for")
        parser.add_argument("--wait", action="store_true", help="show progress until the request ends")

    def handle(self, *args, **options):
        coupon = Coupon.objects.filter(code__iexact=options["coupon"]).first()
        if coupon is None:
            raise CommandError(f"No coupon with code {options['coupon']!r}.")
        distribution = DistributionRequest(
            coupon=coupon,
            source=options["source"],
            table=options["table"],
            column=options["column"],
            memo=options["memo"] or "queued from the command line",
        )
        try:
            services.distribution_submit(distribution=distribution, actor=Actor.command_line())
        except ValidationError as exc:
            raise CommandError(
                "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
            ) from exc
        if distribution.status == DistributionRequest.Status.AWAITING_APPROVAL:
            self.stdout.write(
                f"Request #{distribution.pk} ({distribution.would_issue:,} coupons) awaits another user's "
                f"approval in the admin before it is queued."
            )
            return
        self.stdout.write(
            f"Queued request #{distribution.pk}: {distribution.target_count:,} targets in {distribution.table}."
        )
        if options["wait"]:
            self._wait(distribution)

    def _wait(self, distribution):
        while not distribution.is_finished:
            time.sleep(0.5)
            distribution.refresh_from_db()
            self.stdout.write("\r" + progress_line(distribution), ending="")
            self.stdout.flush()
        self.stdout.write("")
        if distribution.status in (DistributionRequest.Status.FAILED, DistributionRequest.Status.AUDIENCE_CHANGED):
            raise CommandError(f"Request #{distribution.pk} {distribution.status}: {distribution.error_text}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Request #{distribution.pk} succeeded: {distribution.issued_count:,} issued, "
                f"{distribution.skipped_count:,} skipped, {distribution.reissued_count:,} re-issued, "
                f"{distribution.held_out_count:,} held out, "
                f"{distribution.elapsed_seconds:.1f} s, {distribution.rows_per_second or 0:,.0f} rows/s."
            )
        )


def progress_line(distribution, width=40):
    done = int(width * distribution.progress_percent / 100)
    bar = "#" * done + "." * (width - done)
    return f"[{bar}] {distribution.progress_percent:3d}% {distribution.read_count:,}/{distribution.target_count or 0:,} {distribution.status}"
