from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from cleanheat.procurement import services


class Command(BaseCommand):
    help = "导入招标结果（中标产品目录）/ import the tender's results sheet"

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, file, **options):
        try:
            result = services.import_catalog(file, filename=file.name)
        except ValidationError as error:
            raise CommandError("文件有问题，未导入：\n" + "\n".join(error.messages)) from None
        self.stdout.write(f"新增{result['created']}个型号，更新{result['updated']}个型号")
