import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from distribution import services
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
        coupon = Coupon.objects.filter(code=options["coupon"]).first()
        if coupon is None:
            raise CommandError(f"No coupon with code {options['coupon']!r}.")
        request = DistributionRequest(
            coupon=coupon, source=options["source"], table=options["table"], column=options["column"],
            memo=options["memo"] or "queued from the command line",
        )
        try:
            services.distribution_request_submit(request=request)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items()))
        if request.status == DistributionRequest.Status.AWAITING_APPROVAL:
            self.stdout.write(f"Request #{request.pk} ({request.would_issue:,} coupons) awaits another user's "
                              f"approval in the admin before it is queued.")
            return
        self.stdout.write(f"Queued request #{request.pk}: {request.target_count:,} targets in {request.table}.")
        if options["wait"]:
            self._wait(request)

    def _wait(self, request):
        while not request.is_finished:
            time.sleep(0.5)
            request.refresh_from_db()
            self.stdout.write("\r" + progress_line(request), ending="")
            self.stdout.flush()
        self.stdout.write("")
        if request.status == DistributionRequest.Status.FAILED:
            raise CommandError(f"Request #{request.pk} failed: {request.error_message}")
        self.stdout.write(self.style.SUCCESS(
            f"Request #{request.pk} succeeded: {request.issued_count:,} issued, "
            f"{request.skipped_count:,} skipped, {request.elapsed_seconds:.1f} s, {request.rows_per_second or 0:,.0f} rows/s."
        ))


def progress_line(request, width=40):
    done = int(width * request.progress_percent / 100)
    bar = "#" * done + "." * (width - done)
    return f"[{bar}] {request.progress_percent:3d}% {request.read_count:,}/{request.target_count or 0:,} {request.status}"
