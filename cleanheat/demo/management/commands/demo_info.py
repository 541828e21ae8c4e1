from django.core.management.base import BaseCommand

from cleanheat.accounts.roles import ROLES
from cleanheat.demo.loader import read_config


class Command(BaseCommand):
    help = "打印演示地址与登录账号 / print the demo address and logins"

    def handle(self, **options):
        self.stdout.write("\nCleanHeat 清洁取暖综合管理平台（演示）: http://127.0.0.1:8000/")
        self.stdout.write("演示账号 / demo logins:")
        for user in read_config()["demo_users"]:
            self.stdout.write(f"  {user['username']:<14} {user['password']:<14} {user['full_name']}（{ROLES[user['role']].label}，"
                              f"管辖 {user['region_scope']}）")
        self.stdout.write("")
