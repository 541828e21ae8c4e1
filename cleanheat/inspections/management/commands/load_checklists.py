from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from cleanheat.inspections.loader import DATA, load_checklists, read_checklists


class Command(BaseCommand):
    help = "加载检查清单（数据文件）：内容有变化的清单生成新版本，未变的不动；有错误时一份也不写"

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(DATA))

    def handle(self, *args, path, **options):
        try:
            written = load_checklists(read_checklists(path))
        except ValidationError as error:   # the file's problems, each naming its checklist and row
            raise CommandError("检查清单未加载：\n" + "\n".join(error.messages)) from None
        self.stdout.write(f"新版本检查清单：{written} 份")
