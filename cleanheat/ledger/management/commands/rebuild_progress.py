from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max, Min
from tqdm import tqdm

from cleanheat.ledger import asof, rollup
from cleanheat.ledger.models import LifecycleEvent

CHECKS = 6  # days compared by --verify, spread over the ledger's history
UNIT_LENGTHS = (6, 12)  # counties and villages


class Command(BaseCommand):
    help = ("按台账重建“截至某日进度”统计表（ledger.asof）；--verify 与台账逐条计算的结果核对 / "
            "rebuild the as-of-a-day progress table from the ledger; --verify compares it with the ledger")

    def add_arguments(self, parser):
        parser.add_argument("--verify", action="store_true", help="只核对，不重建 / compare only")

    def handle(self, verify, **options):
        if not verify:
            with tqdm(total=4, desc="重建", unit="步") as bar:
                rows = asof.rebuild(progress=lambda step, steps: bar.update(step - bar.n))
            self.stdout.write(f"已重建：{rows} 行")
            return
        span = LifecycleEvent.objects.aggregate(first=Min("occurred_on"), last=Max("occurred_on"))
        if span["first"] is None:
            self.stdout.write("台账中没有改造进度记录")
            return
        days = _spread(span["first"], span["last"])
        wrong = []
        for on in tqdm(days, desc="核对", unit="日"):
            for length in UNIT_LENGTHS:
                if asof.counts_on("", length, on) != rollup.counts_on_from_ledger("", length, on):
                    wrong.append(f"{on}（{length}位）")
        if wrong:
            raise CommandError("统计表与台账不一致：" + "、".join(wrong) + "。请运行 manage.py rebuild_progress")
        self.stdout.write(f"一致：{len(days)} 个日期")


def _spread(first: date, last: date) -> list[date]:
    step = max(1, (last - first).days // (CHECKS - 1))
    return sorted({date.fromordinal(min(first.toordinal() + i * step, last.toordinal())) for i in range(CHECKS)})
