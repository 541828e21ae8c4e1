"""User management: every change to who may do what goes through here, checked and audited."""
import secrets
import string

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from cleanheat.access import NOTHING, has_perm, require_perm, user_prefix
from cleanheat.audit.services import record
from cleanheat.regions.codes import full_code
from cleanheat.regions.models import Region
from cleanheat.versions import StaleEdit, digest

from .models import Organisation
from .roles import MANAGE_USERS, ROLES, can_assign

User = get_user_model()


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


@transaction.atomic
def unlock(manager, user, *, request=None):
    require_perm(manager, MANAGE_USERS)
    user = manageable_users(manager).get(pk=user.pk)
    user.failed_logins, user.locked_until = 0, None
    user.save(update_fields=["failed_logins", "locked_until"])
    record("unlock", request=request, user=manager, region_code=user.region_scope, target=user.username)
