from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.timezone import localtime

from cleanheat.regions.loader import DATA_DIR, load_city, read_source, source_label
from cleanheat.regions.models import RegionSource

SHOWN = 20  # lines listed per kind of change (all of them with -v 2)


class Command(BaseCommand):
    help = ("加载一个城市的统计用区划（省、市、县、乡、村，12位代码）；已加载的城市只报告变化，加 --apply 才写入 / "
            "load one city's statistical divisions; for a city already loaded, report the changes and write them "
            "only with --apply")

    def add_arguments(self, parser):
        parser.add_argument("--city", required=True, help="4位城市代码，如 1409 忻州、1301 石家庄 / 4-digit city code")
        parser.add_argument("--data-dir", type=Path, default=DATA_DIR,
                            help="区划数据目录（tools/refresh_regions.py 生成）/ folder with <city>.csv and source.json")
        parser.add_argument("--apply", action="store_true", help="写入新增与更名 / write additions and renames")

    def handle(self, city, data_dir, apply, **options):
        city = city.strip()
        try:
            diff, written = load_city(city, data_dir, apply_changes=apply)
        except ValidationError as exc:
            raise CommandError("；".join(exc.messages)) from None
        source = read_source(data_dir)
        loaded = RegionSource.objects.filter(city_code=city).first()
        self.stdout.write(f"区划数据：{source_label(source) or data_dir}，城市 {city}")
        if loaded and not written:
            self.stdout.write(f"数据库中现为：{loaded.package} {loaded.version}（{localtime(loaded.loaded_at):%Y-%m-%d} 加载）")
        everything = options["verbosity"] >= 2
        self._list("新增", [f"{r['code']} {r['name']}" for r in diff.added], everything)
        self._list("更名", [f"{g.code} {g.name} → {r['name']}" for g, r in diff.renamed], everything)
        self._list("简称或类型变化", [f"{g.code} {g.name}：简称“{g.short_name}”→“{r['short_name']}”，"
                                       f"类型“{g.kind}”→“{r['kind']}”" for g, r in diff.changed], everything)
        self._list("消失（数据库中保留，不自动删除；请按区划调整处理）",
                   [f"{g.code} {g.name}" for g in diff.vanished], everything)
        self.stdout.write(f"未变 {diff.unchanged} 条")
        if written:
            self.stdout.write(self.style.SUCCESS(
                f"已写入：新增 {len(diff.added)} 条，更名 {len(diff.renamed)} 条，其他变化 {len(diff.changed)} 条"))
        elif diff.empty:
            self.stdout.write("数据库已与数据文件一致，无需修改")
        else:
            self.stdout.write(self.style.WARNING("未加 --apply，数据库未作任何修改"))

    def _list(self, title, lines, everything):
        if not lines:
            return
        self.stdout.write(f"{title} {len(lines)} 条：")
        for line in lines if everything else lines[:SHOWN]:
            self.stdout.write(f"  {line}")
        if not everything and len(lines) > SHOWN:
            self.stdout.write(f"  …另有 {len(lines) - SHOWN} 条（-v 2 列出全部）")
