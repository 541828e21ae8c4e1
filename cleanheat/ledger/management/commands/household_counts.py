from django.core.management.base import BaseCommand
from django.db import transaction

from cleanheat.ledger import counts
from cleanheat.ledger.models import HouseholdCount


class Command(BaseCommand):
    help = ("折叠（或按区划重算）维护的户数统计 / fold the maintained household counts (run nightly on "
            "PostgreSQL), or recount a code range from the ledger with --rebuild")

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", metavar="PREFIX", nargs="?", const="",
                            help="从台账重算该区划代码前缀下的统计（空为全部）/ recount under a code prefix ('' = all)")

    def handle(self, rebuild, **options):
        before = HouseholdCount.objects.count()
        with transaction.atomic():
            if rebuild is not None:
                counts.rebuild(rebuild)
            counts.compact()
        self.stdout.write(f"户数统计 {before} → {HouseholdCount.objects.count()} 行 / count rows")
