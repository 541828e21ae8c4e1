from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cleanheat.audit.services import record
from cleanheat.imports import ledger_import, xlsx


class Command(BaseCommand):
    help = "导入台账Excel（默认只预检）/ import a ledger workbook (dry run unless --commit)"

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--user", required=True, help="以该用户的权限和管辖范围导入 / act as this user")
        parser.add_argument("--commit", action="store_true", help="确认写入 / write (all-or-nothing)")
        parser.add_argument("--valid-only", action="store_true", help="仅导入有效行 / write only the valid rows")
        parser.add_argument("--report", type=Path, help="问题清单输出路径 / where to write the error report")
        parser.add_argument("--default", action="append", default=[], metavar="字段=值",
                            help="表中没有该列时整表采用的值，可多次给出，如 --default original_facility=燃煤炉 "
                                 "/ the value for a column the whole sheet lacks")

    def handle(self, file, user, commit, valid_only, report, default, **options):
        try:
            actor = get_user_model().objects.get(username=user)
        except get_user_model().DoesNotExist:
            raise CommandError(f"用户“{user}”不存在") from None
        bars = {}

        def progress(stage, done, total):
            bar = bars.get(stage) or bars.setdefault(stage, tqdm(total=total, desc=stage, unit="行"))
            bar.update(done - bar.n)

        picked = {}
        for given in default:
            name, sep, value = given.partition("=")
            if not sep:
                raise CommandError(f"--default 应写作 字段=值（如 original_facility=燃煤炉），而不是“{given}”")
            picked[name.strip()] = value.strip()
        try:
            result = ledger_import.analyse(file, user=actor, filename=file.name, progress=progress, defaults=picked)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        for bar in bars.values():
            bar.close()
        c = result.counts
        self.stdout.write(f"新增 {c['new']}，更新 {c['updated']}，未变 {c['unchanged']}，不通过 {c['refused']}")
        if result.ignored:
            self.stdout.write(f"已忽略的列：{'、'.join(result.ignored)}")
        for line in result.notices():
            self.stdout.write(line)
        for line in result.problems(limit=20):
            self.stdout.write(f"  {line}")
        if result.noted:
            self.stdout.write(f"提示 {result.noted} 行（不影响导入）：")
            for line in result.notes(limit=20):
                self.stdout.write(f"  {line}")
        if report and (c["refused"] or result.noted):
            xlsx.write_error_report(report, result)
            self.stdout.write(f"问题清单：{report}")
        if not commit:
            self.stdout.write("（预检，未写入；加 --commit 写入）")
            return
        try:
            ledger_import.commit(result, user=actor, valid_only=valid_only, progress=progress)
        except ledger_import.ImportRefused as refused:
            raise CommandError(str(refused)) from None
        record("import", user=actor, region_code=actor.region_scope, target=file.name,
               detail=f"命令行导入：新增{c['new']}，更新{c['updated']}，未变{c['unchanged']}")
        self.stdout.write("已写入 / written")
