"""API tokens for machine clients (an organisation's integration user): issued by an administrator,
shown once, stored as a SHA-256 digest, acting as their user (role and region scope) until they
expire or are revoked; every call is in the audit log, and each token has a rate limit.

A token is 256 random bits, so a plain SHA-256 digest is enough to store it (nothing to guess
by trying passwords); lookups compare digests, never the token."""
import hashlib
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import HttpBearer

from cleanheat.audit.services import client_ip, record

from .models import ApiToken
from .roles import API_TOKENS
from .services import manageable_users

PREFIX = "chk_"
MAX_DAYS = 366


class TokenRefused(HttpError):
    """401 for a token that is malformed, unknown, expired or revoked; 429 over the rate limit."""

    def __init__(self, status: int, message: str, retry_after: int | None = None):
        super().__init__(status, message)
        self.retry_after = retry_after


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_visible_to(manager):
    """Tokens of the users a manager may manage (empty without the permission)."""
    from cleanheat.access import has_perm  # access imports the roles of this app: a local import keeps it one-way
    if not has_perm(manager, API_TOKENS):
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user__in=manageable_users(manager)).select_related("user", "created_by")


def check_issue(manager, user, name: str, days) -> dict:
    """Whether `manager` may issue a token for `user`: errors by field (Chinese), empty when fine."""
    errors = {}
    if not manageable_users(manager).filter(pk=user.pk).exists():
        errors["user"] = ["只能为本人管辖范围内的用户签发令牌"]
    elif not user.is_active:
        errors["user"] = ["该用户已停用，不能签发令牌"]
    if not (name or "").strip():
        errors["name"] = ["请填写令牌用途，例如“供电公司数据对接”"]
    elif len(name.strip()) > 80:
        errors["name"] = ["用途不能超过80个字"]
    text = str(days if days is not None else "").strip()
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_DAYS):
        errors["days"] = [f"有效天数“{text[:10]}”应为1到{MAX_DAYS}之间的整数"]
    return errors


def issue(manager, user, name: str, days, *, request=None) -> tuple[ApiToken, str]:
    """A new token for `user`, valid for `days`; returns the row and the token, which is shown
    this once and never stored."""
    errors = check_issue(manager, user, name, days)
    if errors:
        raise ValidationError(errors)
    token = PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        row = ApiToken.objects.create(user=user, name=name.strip(), digest=digest(token), hint=token[:10],
                                      created_by=manager, expires_at=timezone.now() + timedelta(days=int(days)))
        record("api_token", request=request, user=manager, region_code=user.region_scope,
               target=f"{user.username}：{row.name}",
               detail=f"签发令牌{row.hint}…，有效期至{timezone.localtime(row.expires_at):%Y-%m-%d %H:%M}")
    return row, token


def revoke(manager, token_id: int, *, request=None) -> ApiToken:
    """Revoke a token of a user the manager manages (unknown or outside: 404 like any record)."""
    from django.shortcuts import get_object_or_404  # only here: the rest of the module answers the API
    row = get_object_or_404(tokens_visible_to(manager), pk=token_id)
    if row.revoked_at is None:
        ApiToken.objects.filter(pk=row.pk).update(revoked_at=timezone.now(), revoked_by=manager)
        record("api_token", request=request, user=manager, region_code=row.user.region_scope,
               target=f"{row.user.username}：{row.name}", detail=f"吊销令牌{row.hint}…")
        row.refresh_from_db()
    return row


def refuse(request, reason: str, token_hint: str = "") -> TokenRefused:
    record("api_refused", request=request, target=f"{request.method} {request.path}"[:120],
           detail=f"{reason}{'（令牌' + token_hint + '…）' if token_hint else ''}")
    return TokenRefused(401, f"API 令牌无效：{reason}")


def authenticate(request, token: str):
    """The user a Bearer token acts as, with the call recorded; raises TokenRefused (401 or 429)."""
    if not token.startswith(PREFIX) or len(token) > 100 or not token.isascii():
        raise refuse(request, "格式不正确")
    row = ApiToken.objects.select_related("user").filter(digest=digest(token)).first()
    if row is None:
        raise refuse(request, "令牌不存在")
    now = timezone.now()
    if row.revoked_at is not None:
        raise refuse(request, "令牌已吊销", row.hint)
    if row.expires_at <= now:
        raise refuse(request, "令牌已过期", row.hint)
    if not row.user.is_active:
        raise refuse(request, "令牌所属用户已停用", row.hint)
    limit = row.rate_per_minute or settings.CLEANHEAT_API_TOKEN_RATE_PER_MINUTE
    window = int(time.time() // 60)
    key = f"api-rate:{row.digest[:32]}:{window}"
    cache.add(key, 0, 120)
    try:
        used = cache.incr(key)
    except ValueError:  # the entry expired in between
        cache.set(key, 1, 120)
        used = 1
    if used > limit:
        if cache.add(f"{key}:logged", 1, 120):  # once per window in the log, not once per refused call
            record("api_refused", user=row.user, request=request, region_code=row.user.region_scope,
                   target=f"{request.method} {request.path}"[:120], detail=f"超过每分钟{limit}次的上限（令牌{row.hint}…）")
        raise TokenRefused(429, f"请求过于频繁：每个令牌每分钟最多{limit}次，请稍后再试",
                           retry_after=60 - int(time.time()) % 60)
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=now, last_used_ip=client_ip(request))
    request.user = row.user
    request.api_token = row
    record("api_call", request=request, user=row.user, region_code=row.user.region_scope,
           target=f"{request.method} {request.path}"[:120], detail=f"令牌{row.hint}…")
    return row.user


class BearerToken(HttpBearer):
    """`Authorization: Bearer …` on any /api/ route. A request without the header goes on to the
    session login (whose writes need the CSRF token); one with a bad token is refused, never
    tried as a session."""

    def __call__(self, request):
        header = request.headers.get("Authorization", "")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise refuse(request, "请求头应为 Authorization: Bearer <令牌>")
        return self.authenticate(request, token.strip())

    def authenticate(self, request, token):
        return authenticate(request, token)
