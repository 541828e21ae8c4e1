from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cleanheat.audit.services import record
from cleanheat.regions.models import Region
from cleanheat.regions.codes import PREFIX_LENGTH, full_code
from cleanheat.subsidies import batch, services

STAGES = {"read": "读取", "计算": "计算", "write": "写入"}


class Command(BaseCommand):
    help = "补贴核算：按补贴政策计算各户应享补贴并保存（已审核的保持不变） / compute subsidy entitlements"

    def add_arguments(self, parser):
        parser.add_argument("--year", required=True, help="政策年度，如 2022")
        parser.add_argument("--region", default="", help="区划代码或前缀，如 140902（默认全市）")

    def handle(self, year, region, **options):
        try:
            year = batch.checked_year(year)
        except ValidationError as error:
            raise CommandError("；".join(error.messages)) from None
        if region and not (region.isdigit() and len(region) in PREFIX_LENGTH.values()
                           and Region.objects.filter(code=full_code(region)).exists()):
            raise CommandError(f"区划“{region[:20]}”不存在（应为12位区划代码或其4、6、9位前缀）")
        prefix = Region.objects.get(code=full_code(region)).prefix if region else ""
        bars = {}

        def progress(stage, done, total):
            bar = bars.get(stage) or bars.setdefault(stage, tqdm(total=total, desc=STAGES.get(stage, stage), unit="户"
                                                                 if stage != "write" else "条"))
            bar.total = total
            bar.update(done - bar.n)
        stats = services.compute_entitlements(year, prefix, progress=progress)
        for bar in bars.values():
            bar.close()
        message = services.summary(stats)
        record("entitlements", target=f"命令行 {region or '全市'} {year}", region_code=prefix, detail=message)
        self.stdout.write(message)
