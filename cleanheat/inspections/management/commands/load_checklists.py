from django.core.management.base import BaseCommand

from cleanheat.inspections.loader import DATA, load_checklists, read_checklists


class Command(BaseCommand):
    help = "加载检查清单（数据文件）：内容有变化的清单生成新版本，未变的不动"

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(DATA))

    def handle(self, *args, path, **options):
        written = load_checklists(read_checklists(path))
        self.stdout.write(f"新版本检查清单：{written} 份")
