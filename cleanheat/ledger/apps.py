from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "cleanheat.ledger"
    verbose_name = "清洁取暖台账"
