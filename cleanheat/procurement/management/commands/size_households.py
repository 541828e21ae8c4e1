from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cleanheat.audit.services import record
from cleanheat.procurement import batch, sizing


class Command(BaseCommand):
    help = "批量选型测算：各户设计热负荷、采暖季需热量、推荐型号与各路径费用 / batch sizing and advice"

    def add_arguments(self, parser):
        parser.add_argument("--region", default="", help="区划代码前缀，如 140902（默认全市）")

    def handle(self, region, **options):
        bars = {}

        def progress(stage, done, total):
            bar = bars.get(stage) or bars.setdefault(stage, tqdm(total=total, desc={"read": "读取", "validate": "计算",
                                                                                  "write": "写入"}[stage], unit="户"))
            bar.update(done - bar.n)
        try:
            stats = batch.size_region(region, progress=progress)
        except sizing.MissingData as missing:
            raise CommandError(str(missing)) from None
        for bar in bars.values():
            bar.close()
        message = batch.summary(stats)
        record("sizing", target=f"命令行 {region or '全市'}", region_code=region, detail=message)
        self.stdout.write(message)
