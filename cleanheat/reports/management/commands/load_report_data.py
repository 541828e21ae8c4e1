from pathlib import Path

from django.core.management.base import BaseCommand

from cleanheat.reports import loader
from cleanheat.reports.models import (
    CoalUse,
    EmissionFactor,
    EmissionSettings,
    PathEnergy,
    ReportTemplate,
)


class Command(BaseCommand):
    help = "载入（更新）减排测算参数、排放因子与内置报表模板（cleanheat/reports/data）"

    def add_arguments(self, parser):
        parser.add_argument("--emissions", default=str(loader.EMISSIONS), help="排放数据 JSON 文件")

    def handle(self, *args, **options):
        loader.load_emissions({m.__name__: m for m in (EmissionSettings, CoalUse, PathEnergy, EmissionFactor)},
                              loader.read_emissions(Path(options["emissions"])))
        loader.load_layouts(ReportTemplate)
        self.stdout.write("已载入减排数据与内置报表模板")
