from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cleanheat.audit.services import record
from cleanheat.imports import exports
from cleanheat.ledger.queries import household_queryset


class Command(BaseCommand):
    help = "导出居民用户台账为Excel / export households to .xlsx"

    def add_arguments(self, parser):
        parser.add_argument("out", type=Path)
        parser.add_argument("--user", required=True)
        for name in ("region", "path", "state", "flag", "q"):
            parser.add_argument(f"--{name}", default="")

    def handle(self, out, user, **options):
        try:
            actor = get_user_model().objects.get(username=user)
        except get_user_model().DoesNotExist:
            raise CommandError(f"用户“{user}”不存在") from None
        filters = {k: options[k] for k in ("region", "path", "state", "flag", "q")}
        qs = household_queryset(actor, **filters)
        bar = tqdm(total=qs.count(), desc="导出", unit="户")
        n = exports.export_households(out, qs, user=actor, progress=lambda s, d, t: bar.update(d - bar.n))
        bar.close()
        record("export", user=actor, region_code=actor.region_scope, target="居民用户清单（命令行）", detail=str(filters))
        self.stdout.write(f"已导出 {n} 户到 {out}")
