from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "cleanheat.accounts"
    verbose_name = "账户与权限"
