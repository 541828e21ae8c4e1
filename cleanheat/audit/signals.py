from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.utils import timezone

from .services import record


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    if user.failed_logins or user.locked_until:
        type(user).objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
    record("login", request=request, user=user, region_code=user.region_scope)


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        record("logout", request=request, user=user, region_code=user.region_scope)


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    """Count consecutive failures; lock the account at the limit."""
    username = credentials.get("username", "")
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    record("login_failed", request=request, username=username,
           region_code=user.region_scope if user else "")
    if user is None or user.is_locked():
        return
    user.failed_logins += 1
    fields = ["failed_logins"]
    if user.failed_logins >= settings.LOGIN_MAX_FAILURES:
        user.locked_until = timezone.now() + timezone.timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
        fields.append("locked_until")
        record("lockout", request=request, user=user, region_code=user.region_scope,
               target=user.username, detail=f"连续{user.failed_logins}次密码错误")
    user.save(update_fields=fields)
