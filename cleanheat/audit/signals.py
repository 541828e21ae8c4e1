from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from cleanheat.accounts.services import note_failed_login

from .services import record


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    record("login", request=request, user=user, region_code=user.region_scope)


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        record("logout", request=request, user=user, region_code=user.region_scope)


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    """Audited and counted by the accounts app, which pauses an address that keeps failing."""
    note_failed_login(credentials.get("username", ""), request)
