"""manage.py sweep_tickets: SLA statuses and escalations of every open ticket (run every few minutes)."""
from django.core.management.base import BaseCommand

from cleanheat.service import services


class Command(BaseCommand):
    help = "工单时限巡检：更新所有未修复工单的时限状态并按时限数据升级"

    def handle(self, *args, **options):
        result = services.sweep()
        self.stdout.write(f"状态变化 {result['checked_changed']} 张，升级 {result['escalated']} 张，"
                          f"新预警 {result['at_risk']} 张")
