import time

from django.core.management.base import BaseCommand
from tqdm import tqdm

from cleanheat.demo import scale as generator


class Command(BaseCommand):
    help = ("生成省级规模的虚构台账（PostgreSQL，COPY 写入）/ fill PostgreSQL with N synthetic cities "
            "shaped like the Xinzhou demo (docs/scale.md)")

    def add_arguments(self, parser):
        parser.add_argument("--cities", type=int, default=25, help="虚构城市数 / synthetic cities (25 ≈ 5.3 M households)")
        parser.add_argument("--scale", type=float, default=1.0, help="每市户数比例 / fraction of each city's households")

    def handle(self, cities, scale, **options):
        started = time.perf_counter()
        with tqdm(total=generator.expected(cities, scale), desc="写入台账 / households", unit="户",
                  disable=options["verbosity"] == 0) as bar:
            written = generator.load_scale(cities, scale, progress=bar.update, log=bar.write)
        self.stdout.write(f"已写入 {written} 户，用时 {time.perf_counter() - started:.1f} 秒 / "
                          f"{written} households in {time.perf_counter() - started:.1f} s")
