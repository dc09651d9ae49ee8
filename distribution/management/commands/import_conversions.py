from django.core.management.base import BaseCommand, CommandError

from distribution.models import Coupon
from distribution.services.holdout import held_out_import_conversions
from distribution.sources import SourceError


class Command(BaseCommand):
    help = (
        "Marks a coupon's held-out members who converted (ordered in the campaign's window), from a "
        "warehouse table of member ids: the control group's side of the coupon's results page."
    )

    def add_arguments(self, parser):
        parser.add_argument("--coupon", required=True, help="the coupon's code")
        parser.add_argument("--source", required=True, help="a source named in settings (e.g. warehouse, demo)")
        parser.add_argument("--table", required=True, help="catalog.schema.table of the members who converted")
        parser.add_argument("--column", required=True, help="the column holding user ids")

    def handle(self, *args, **options):
        coupon = Coupon.objects.filter(code=options["coupon"]).first()
        if coupon is None:
            raise CommandError(f"No coupon with code {options['coupon']!r}.")
        try:
            marked = held_out_import_conversions(
                coupon=coupon, source=options["source"], table=options["table"], column=options["column"]
            )
        except SourceError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"{marked:,} held-out rows of {coupon.code} marked as converted."))
