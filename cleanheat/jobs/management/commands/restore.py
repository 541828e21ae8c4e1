"""`manage.py restore FILE`: a backup made by `manage.py backup` back into the configured database,
replacing its contents. Refused, with nothing written, when the file was made under another
CLEANHEAT_PII_KEY or from another kind of database, or does not decrypt whole (cleanheat/backups.py)."""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from cleanheat import backups


class Command(BaseCommand):
    help = "从加密备份文件恢复整个数据库（会替换当前数据库的全部内容）"

    def add_arguments(self, parser):
        parser.add_argument("file", help="manage.py backup 制作的备份文件")
        parser.add_argument("--database", default="default")

    def handle(self, *args, file, database, **options):
        src = Path(file)
        if not src.is_file():
            raise CommandError(f"备份文件 {src} 不存在")
        connections[database].close()
        try:
            backups.restore(connections[database].settings_dict, src, pii_key=settings.PII_KEY,
                            progress=self.stdout.write)
        except backups.BackupError as e:
            raise CommandError(str(e)) from None
