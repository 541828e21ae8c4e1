"""`manage.py backup FILE`: the whole database into one file encrypted with a key derived from
CLEANHEAT_PII_KEY (cleanheat/backups.py). Keep the key apart from the file: without it the file is useless."""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from cleanheat import backups


class Command(BaseCommand):
    help = "备份整个数据库到一个加密文件（SQLite 在线备份；PostgreSQL pg_dump -Fc）"

    def add_arguments(self, parser):
        parser.add_argument("file", help="备份文件路径，如 backups/cleanheat-2026-11-28.chbak")
        parser.add_argument("--database", default="default")

    def handle(self, *args, file, database, **options):
        out = Path(file)
        if not out.parent.is_dir():
            raise CommandError(f"目录 {out.parent} 不存在")
        connections[database].close()
        try:
            meta = backups.backup(connections[database].settings_dict, out, pii_key=settings.PII_KEY,
                                  progress=self.stdout.write)
        except backups.BackupError as e:
            raise CommandError(str(e)) from None
        self.stdout.write(f"数据库类型 {meta['vendor']}，制作时间 {meta['created_at']}，"
                          f"密钥指纹 {meta['key_fingerprint']}")
