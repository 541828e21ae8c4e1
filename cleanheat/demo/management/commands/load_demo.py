import time

from django.core.management.base import BaseCommand
from tqdm import tqdm

from cleanheat.demo.loader import expected_households, load_demo, read_config
from cleanheat.ledger.models import Household


class Command(BaseCommand):
    help = "加载忻州演示数据（2022年计划及虚构的2023年计划）/ load the synthetic Xinzhou demo (2022, and an invented 2023)"

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="台账已有数据时跳过 / skip if households exist")
        parser.add_argument("--scale", type=float, default=1.0, help="按比例缩小户数（测试用）/ fraction of households")

    def handle(self, if_empty, scale, **options):
        if if_empty and Household.objects.exists():
            self.stdout.write("演示数据已加载，跳过 / demo already loaded")
            return
        cfg = read_config()
        expected = expected_households(cfg, scale)
        started = time.perf_counter()
        with tqdm(total=expected, desc="写入台账 / households", unit="户", disable=options["verbosity"] == 0) as bar:
            written = load_demo(cfg, scale, progress=bar.update)
        self.stdout.write(f"已加载 {written} 户，用时 {time.perf_counter() - started:.1f} 秒 / "
                          f"{written} households loaded")
