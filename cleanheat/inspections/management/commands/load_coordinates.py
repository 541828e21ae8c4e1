from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from cleanheat.inspections.coordinates import import_file


class Command(BaseCommand):
    help = ("加载村庄坐标表（区划代码、经度、纬度；xlsx/csv），用于核对照片拍摄位置和现场检查按距离排序；"
            "有一行不对则全部不写入 / load the villages' coordinates (code, longitude, latitude)")

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)

    def handle(self, *args, path, **options):
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        try:
            written = import_file(path.name, path.read_bytes())
        except ValidationError as exc:
            raise CommandError("\n".join(exc.messages)) from None
        self.stdout.write(self.style.SUCCESS(f"已写入 {written} 个区划的坐标"))
