"""manage.py send_sms: send the due messages of the SMS outbox once each (retries wait their backoff)."""
from django.core.management.base import BaseCommand

from cleanheat.service import outbox


class Command(BaseCommand):
    help = "发送短信发件箱中到期的短信（失败的按退避时间重试，不会重复发送）"

    def add_arguments(self, parser):
        parser.add_argument("--backend", choices=sorted(outbox.BACKENDS), help="默认取 CLEANHEAT_SMS_BACKEND")

    def handle(self, *args, **options):
        result = outbox.send_due(backend=options.get("backend"))
        self.stdout.write(f"已发送 {result['sent']} 条，待重试 {result['retried']} 条，失败 {result['failed']} 条")
