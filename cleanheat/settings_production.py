"""Production settings: `DJANGO_SETTINGS_MODULE=cleanheat.settings_production`.

Secrets must come from the environment; HTTPS only; `manage.py check --deploy` passes."""
import os

from django.core.exceptions import ImproperlyConfigured

from .settings import *  # noqa: F401,F403 (production overrides the base settings)


def _required(name):
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"环境变量 {name} 未设置 / {name} must be set in production")
    return value


DEBUG = False
_required("DATABASE_URL")  # never the demo's SQLite file by accident (settings.DATABASES reads it)
SECRET_KEY = _required("CLEANHEAT_SECRET_KEY")
PII_KEY = _required("CLEANHEAT_PII_KEY")
ALLOWED_HOSTS = [h for h in _required("CLEANHEAT_ALLOWED_HOSTS").split(",") if h]
CSRF_TRUSTED_ORIGINS = [f"https://{h}" for h in ALLOWED_HOSTS]
STATIC_ROOT = os.environ.get("CLEANHEAT_STATIC_ROOT", str(BASE_DIR / "staticfiles"))  # noqa: F405
WHITENOISE_USE_FINDERS = False

SECURE_SSL_REDIRECT = True
# Monitors and Prometheus ask over plain HTTP inside the network: /healthz tells only ok or not,
# /metrics answers only allowed addresses or its token (cleanheat/metrics.py).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_NAME = "__Secure-sessionid"
CSRF_COOKIE_NAME = "__Secure-csrftoken"
