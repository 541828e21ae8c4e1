"""User management: every change to who may do what goes through here, checked and audited.
Failed logins are counted here too, and the pauses they trip are lifted here."""
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.db.models.functions import Left
from django.utils import timezone

from cleanheat.access import NOTHING, has_perm, require_perm, user_prefix
from cleanheat.audit.services import client_ip, record
from cleanheat.regions import codes
from cleanheat.regions.codes import full_code
from cleanheat.regions.models import Region
from cleanheat.versions import StaleEdit, digest

from .models import LoginFailure, LoginThrottle, Organisation
from .roles import MANAGE_USERS, ROLES, can_assign

User = get_user_model()
# Failed logins keep the username as typed but cut short: people sometimes type a password there.
USERNAME_KEPT = 30


def manageable_users(manager):
    """Users a manager may see and change: those whose scope lies inside the manager's."""
    if not has_perm(manager, MANAGE_USERS):
        return User.objects.none()
    prefix = user_prefix(manager)
    if prefix == NOTHING:
        return User.objects.none()
    users = User.objects.select_related("organisation").order_by("region_scope", "username")
    if manager.is_superuser:
        return users
    return users.filter(region_scope__startswith=prefix, is_superuser=False)


def manageable_organisations(manager):
    prefix = user_prefix(manager)
    if prefix == NOTHING:
        return Organisation.objects.none()
    return Organisation.objects.filter(region_code__startswith=prefix)


def temporary_password() -> str:
    """Random, meets the complexity rules; the user must replace it at first login."""
    body = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(10))
    return f"Ch{body}#{secrets.randbelow(10)}"


def _check(manager, data: dict) -> dict:
    errors = {}
    role, scope = data.get("role", ""), (data.get("region_scope") or "").strip()
    prefix = user_prefix(manager)
    if role not in ROLES:
        errors["role"] = ["请选择角色"]
    elif not manager.is_superuser and not can_assign(manager.role, role):
        errors["role"] = [f"您不能授予“{ROLES[role].label}”角色（超出您自己的权限）"]
    if not (scope.isdigit() and len(scope) in (4, 6, 9, 12)):
        errors["region_scope"] = ["管辖区划应为4、6、9或12位区划代码前缀"]
    elif not scope.startswith(prefix) or prefix == NOTHING:
        errors["region_scope"] = ["管辖区划超出您的管辖范围"]
    elif not Region.objects.filter(code=full_code(scope)).exists():
        errors["region_scope"] = [f"区划“{scope}”不存在"]
    elif role in ROLES and len(scope) < ROLES[role].scope_level:
        errors["region_scope"] = [f"“{ROLES[role].label}”的管辖范围不能大于{ROLES[role].scope_level}位代码所指区划"]
    org = data.get("organisation")
    if org is not None and not manageable_organisations(manager).filter(pk=org.pk).exists():
        errors["organisation"] = ["该单位不在您的管辖范围内"]
    if errors:
        raise ValidationError(errors)
    return {"role": role, "region_scope": scope, "organisation": org,
            "full_name": data.get("full_name", ""), "is_active": bool(data.get("is_active", True))}


def _describe(user) -> str:
    return (f"角色={user.role} 范围={user.region_scope} 单位={user.organisation_id or ''} "
            f"启用={'是' if user.is_active else '否'}")


@transaction.atomic
def create_user(manager, data: dict, *, request=None):
    require_perm(manager, MANAGE_USERS)
    values = _check(manager, data)
    username = (data.get("username") or "").strip()
    if not username:
        raise ValidationError({"username": ["用户名不能为空"]})
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": ["该用户名已存在"]})
    password = temporary_password()
    user = User(username=username, must_change_password=True, **values)
    user.set_password(password)
    user.save()
    record("user_create", request=request, user=manager, region_code=user.region_scope,
           target=user.username, detail=_describe(user))
    return user, password


def user_version(user) -> str:
    """The version of an account as its edit form shows it (a digest: accounts have no number)."""
    return digest([user.full_name, user.organisation_id, user.role, user.region_scope, user.is_active])


@transaction.atomic
def update_user(manager, user, data: dict, *, request=None, expected_version=None):
    """expected_version: user_version() of the account the manager's page showed (None: no check)."""
    require_perm(manager, MANAGE_USERS)
    user = manageable_users(manager).select_for_update(of=("self",)).get(pk=user.pk)
    if expected_version is not None and expected_version != user_version(user):
        raise StaleEdit("此用户已被他人修改，您的修改未保存。请核对后重新提交。", version=user_version(user))
    values = _check(manager, data)
    before = _describe(user)
    for field, value in values.items():
        setattr(user, field, value)
    user.save()
    after = _describe(user)
    if before != after:
        record("permission_change", request=request, user=manager, region_code=user.region_scope,
               target=user.username, detail=f"{before} → {after}")
    return user


@transaction.atomic
def reset_password(manager, user, *, request=None) -> str:
    require_perm(manager, MANAGE_USERS)
    user = manageable_users(manager).get(pk=user.pk)
    password = temporary_password()
    user.set_password(password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    record("password_reset", request=request, user=manager, region_code=user.region_scope, target=user.username)
    return password


# ---- failed logins and the pauses they trip -------------------------------------------------

@dataclass(frozen=True)
class FailedLogin:
    username: str      # as typed, cut short
    ip: str | None
    region_code: str   # the user's scope; the city for unknown names
    known: bool
    at: datetime


def login_paused(username: str, ip: str | None) -> bool:
    """Whether logins of `username` from `ip` are paused. Every login asks: one indexed query."""
    this_name = Q(kind=LoginThrottle.USERNAME_AT_ADDRESS, username=username[:USERNAME_KEPT])
    return LoginThrottle.objects.filter(Q(kind=LoginThrottle.ADDRESS) | this_name, ip=ip, until__gt=timezone.now(),
                                        lifted_at__isnull=True).exists()


def _city_prefix() -> str:
    """The area of events that belong to no user: the city when the installation holds one
    (city-wide auditors see them, county administrators do not), else superusers only."""
    cities = list(Region.objects.filter(level=codes.CITY).values_list("code", flat=True)[:2])
    return codes.prefix_of(cities[0]) if len(cities) == 1 else ""


@transaction.atomic
def note_failed_login(username: str, request) -> None:
    """Audit a failed login and count it; trip a pause or an alert at the thresholds. A try
    refused because of a pause is audited, not counted again (the pause runs its course)."""
    username = username or ""
    user = User.objects.filter(username=username).first()
    ip = client_ip(request)
    attempt = FailedLogin(username=username[:USERNAME_KEPT], ip=ip, known=user is not None,
                          region_code=user.region_scope if user else _city_prefix(), at=timezone.now())
    paused = login_paused(username, ip)
    notes = [note for note, applies in (("用户名不存在", user is None), ("登录暂停期间尝试", paused)) if applies]
    record("login_failed", request=request, username=attempt.username, region_code=attempt.region_code,
           detail="；".join(notes))
    if not paused:
        _count(attempt, request)


def _count(attempt: FailedLogin, request) -> None:
    window_start = attempt.at - timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES)
    LoginFailure.objects.filter(at__lt=window_start).delete()
    LoginFailure.objects.create(at=attempt.at, username=attempt.username, ip=attempt.ip)
    pair = {"username": attempt.username, "ip": attempt.ip}
    failures = _failures_since_last(LoginThrottle.USERNAME_AT_ADDRESS, pair, window_start).count()
    if failures >= settings.LOGIN_MAX_FAILURES:
        _trip(LoginThrottle.USERNAME_AT_ADDRESS, pair, failures, attempt, request)
    address = {"ip": attempt.ip}
    failures = _failures_since_last(LoginThrottle.ADDRESS, address, window_start).count()
    if failures >= settings.LOGIN_MAX_FAILURES_PER_ADDRESS:
        _trip(LoginThrottle.ADDRESS, address, failures, attempt, request)
    if attempt.known:
        account = {"username": attempt.username}
        addresses = _failures_since_last(LoginThrottle.ACCOUNT_ALERT, account, window_start) \
            .values("ip").distinct().count()
        if addresses >= settings.LOGIN_ALERT_ADDRESSES:
            _trip(LoginThrottle.ACCOUNT_ALERT, account, addresses, attempt, request)


def _failures_since_last(kind: str, key: dict, window_start):
    """Failures under `key` in the window that came after the last pause of this kind on it
    (those before it tripped that pause; a lifted pause starts the count afresh)."""
    last = LoginThrottle.objects.filter(kind=kind, **key).aggregate(last=Max("started_at"))["last"]
    return LoginFailure.objects.filter(at__gt=max(window_start, last or window_start), **key)


def _trip(kind: str, key: dict, failures: int, attempt: FailedLogin, request) -> None:
    until = attempt.at + timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
    region_code = _city_prefix() if kind == LoginThrottle.ADDRESS else attempt.region_code
    throttle = LoginThrottle.objects.create(
        kind=kind, username=key.get("username", ""), ip=key.get("ip"), region_code=region_code,
        failures=failures, started_at=attempt.at, until=until)
    window = settings.LOGIN_FAILURE_WINDOW_MINUTES
    if kind == LoginThrottle.ACCOUNT_ALERT:
        detail = f"{window}分钟内从{failures}个地址登录失败（仅告警，未限制登录）"
    else:
        detail = (f"{window}分钟内失败{failures}次，暂停至{timezone.localtime(until):%H:%M}："
                  f"{throttle.get_kind_display()}")
    record("login_alert" if kind == LoginThrottle.ACCOUNT_ALERT else "lockout", request=request,
           username=throttle.username, region_code=region_code, target=throttle_target(throttle),
           detail=detail)


def throttle_target(throttle) -> str:
    return " @ ".join(part for part in (throttle.username, throttle.ip or "") if part)


def active_throttles(viewer):
    """Pauses and alerts in force inside the viewer's scope: the notice on the audit page."""
    prefix = user_prefix(viewer)
    if prefix == NOTHING:
        return LoginThrottle.objects.none()
    return LoginThrottle.objects.filter(region_code__startswith=prefix, until__gt=timezone.now(),
                                        lifted_at__isnull=True)


def with_pause_state(users, viewer):
    """Annotate `login_paused`: whether a pause or alert on the user's name is in force."""
    return users.annotate(login_paused=Exists(
        active_throttles(viewer).filter(username=Left(OuterRef("username"), USERNAME_KEPT))))


@transaction.atomic
def lift_throttle(manager, throttle, *, request=None) -> None:
    """End a pause (or dismiss an alert) early; the count starts afresh."""
    require_perm(manager, MANAGE_USERS)
    throttle = active_throttles(manager).select_for_update().get(pk=throttle.pk)
    throttle.lifted_at, throttle.lifted_by = timezone.now(), manager
    throttle.save(update_fields=["lifted_at", "lifted_by"])
    record("unlock", request=request, user=manager, region_code=throttle.region_code,
           target=throttle_target(throttle), detail=f"解除：{throttle.get_kind_display()}")


@transaction.atomic
def unlock(manager, user, *, request=None) -> int:
    """Lift every pause and alert on a user's name (the button on the user's page)."""
    require_perm(manager, MANAGE_USERS)
    user = manageable_users(manager).get(pk=user.pk)
    throttles = list(active_throttles(manager).filter(username=user.username[:USERNAME_KEPT]))
    for throttle in throttles:
        lift_throttle(manager, throttle, request=request)
    return len(throttles)
