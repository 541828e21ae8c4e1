"""CleanHeat settings. Everything site-specific comes from the environment.

DATABASE_URL   sqlite:///data/cleanheat.sqlite3 (default) or postgres://user@host:5432/db
CLEANHEAT_SECRET_KEY, CLEANHEAT_PII_KEY   secrets; the defaults are for the demo only.
"""
import os
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

from cleanheat.filestores import build_storages

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("CLEANHEAT_DATA_DIR", BASE_DIR / "data"))

SECRET_KEY = os.environ.get("CLEANHEAT_SECRET_KEY", "demo-only-insecure-key-change-me-in-production")
# Key for encrypting resident ID numbers and phones at rest, and for their keyed search hash.
PII_KEY = os.environ.get("CLEANHEAT_PII_KEY", "demo-only-pii-key-change-me-in-production")
# Off unless asked for: with DEBUG on, a failing request shows the client a traceback with server paths.
DEBUG = os.environ.get("CLEANHEAT_DEBUG", "0") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("CLEANHEAT_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",  # serves the API docs page with its own Swagger UI files instead of a CDN
    "cleanheat.accounts",
    "cleanheat.regions",
    "cleanheat.ledger",
    "cleanheat.audit",
    "cleanheat.jobs",
    "cleanheat.imports",
    "cleanheat.plan",
    "cleanheat.rules",
    "cleanheat.inspections",
    "cleanheat.procurement",
    "cleanheat.subsidies",
    "cleanheat.reports",
    "cleanheat.desk",
    "cleanheat.service",
    "cleanheat.overview",
    "cleanheat.demo",
    "cleanheat.figures",
    "cleanheat.helpdocs",
    "django_tasks_db",
]

MIDDLEWARE = [
    "cleanheat.metrics.MetricsMiddleware",  # outermost: a request's latency includes every middleware
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "cleanheat.middleware.RequestGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "cleanheat.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cleanheat.middleware.NoStoreMiddleware",
    "cleanheat.middleware.LoginRequiredMiddleware",
    "cleanheat.middleware.PasswordChangeRequiredMiddleware",
    "cleanheat.middleware.AccessMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "cleanheat.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "cleanheat" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cleanheat.access.context",
                "cleanheat.helpdocs.views.context",
            ],
        },
    },
]
WSGI_APPLICATION = "cleanheat.wsgi.application"


def _database():
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'cleanheat.sqlite3'}"
    db = dj_database_url.parse(url, conn_max_age=60)
    if db["ENGINE"] == "django.db.backends.sqlite3":
        db["OPTIONS"] = {
            # WAL lets readers work while an import writes; IMMEDIATE avoids lock upgrades.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        db["CONN_MAX_AGE"] = 0
    return db


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "cleanheat.accounts.validators.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
]
# Repeated failed logins (等保: 登录失败处理) pause further tries from the same source address:
# one username from that address, or every username once the address has tried many. The
# account itself is never locked (anyone could lock anyone out); many addresses failing against
# one account raise an alert instead. Administrators see pauses on the audit page and can lift them.
AUTHENTICATION_BACKENDS = ["cleanheat.accounts.backends.ThrottledModelBackend"]
LOGIN_FAILURE_WINDOW_MINUTES = int(os.environ.get("CLEANHEAT_LOGIN_FAILURE_WINDOW_MINUTES", 15))
LOGIN_MAX_FAILURES = int(os.environ.get("CLEANHEAT_LOGIN_MAX_FAILURES", 5))  # one username, one address
LOGIN_MAX_FAILURES_PER_ADDRESS = int(os.environ.get("CLEANHEAT_LOGIN_MAX_FAILURES_PER_ADDRESS", 20))
LOGIN_LOCK_MINUTES = int(os.environ.get("CLEANHEAT_LOGIN_LOCK_MINUTES", 30))  # length of a pause
LOGIN_ALERT_ADDRESSES = int(os.environ.get("CLEANHEAT_LOGIN_ALERT_ADDRESSES", 5))  # per account, alert only
# Behind a reverse proxy: the request header (as in request.META, e.g. "HTTP_X_REAL_IP") that the
# proxy sets to the client's address. Empty: REMOTE_ADDR (a client-sent header is never trusted).
CLIENT_IP_HEADER = os.environ.get("CLEANHEAT_CLIENT_IP_HEADER", "")
# Sessions end after 30 minutes without activity, and when the browser closes.
SESSION_COOKIE_AGE = int(os.environ.get("CLEANHEAT_SESSION_IDLE_SECONDS", 1800))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
# Scripts and styles only from our own static files, never inline (templates pass data in
# data-* attributes or json_script blocks). ECharts and Swagger UI style their elements
# through the CSSOM, which style-src does not restrict; Swagger UI's stylesheet draws its
# icons from data: images.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "cleanheat" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = os.environ.get("CLEANHEAT_STATIC_ROOT") or None  # set for collectstatic in production
WHITENOISE_USE_FINDERS = True  # serve app static files (htmx, css) without a collectstatic step
STATICFILES_DIRS = [BASE_DIR / "cleanheat" / "static"]

NINJA_PAGINATION_PER_PAGE = 50
FORMAT_MODULE_PATH = ["cleanheat.formats"]

# Progress of background jobs is shared through the cache; a file cache works across the
# processes of one server without extra services (set a Redis cache for several servers).
# "figures": rollups, dashboards and compliance results, keyed by the ledger's generation token
# (cleanheat/figures), which lives in the database: a file cache per server stays correct.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache"),
    },
    "figures": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache-figures"),
        "OPTIONS": {"MAX_ENTRIES": 5000},
    },
}
# A region page whose figures are not cached yet and that covers at least this many households
# answers at once and loads its figures in a second request, with a "computing" indicator.
CLEANHEAT_DEFER_FIGURES_FROM = int(os.environ.get("CLEANHEAT_DEFER_FIGURES_FROM", 20000))
# Background jobs (imports, exports, sizing, entitlements) are django.tasks tasks run by a worker
# process (`manage.py jobs_worker`, which `dev.py demo` starts beside the web server). The default
# queue is a table in the database (django-tasks-db): no extra server, on SQLite and PostgreSQL.
# CLEANHEAT_TASKS_BACKEND=rq switches to a Redis queue (django-tasks-rq, RQ workers; see README).
if os.environ.get("CLEANHEAT_TASKS_BACKEND", "db") == "rq":  # django-tasks-rq is in requirements.lock
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": os.environ.get("CLEANHEAT_REDIS_URL", "redis://127.0.0.1:6379/0")}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# A running job's worker reports every this many seconds; a job with no report for
# CLEANHEAT_JOB_STALE_SECONDS has lost its worker and is retried (a dry run, an export, a
# recomputation) or shown as failed (an import's write, which is one transaction: nothing written).
CLEANHEAT_JOB_HEARTBEAT_SECONDS = float(os.environ.get("CLEANHEAT_JOB_HEARTBEAT_SECONDS", 5))
CLEANHEAT_JOB_STALE_SECONDS = float(os.environ.get("CLEANHEAT_JOB_STALE_SECONDS", 60))
# API tokens (Authorization: Bearer …): calls per minute per token, unless the token sets its own.
CLEANHEAT_API_TOKEN_RATE_PER_MINUTE = int(os.environ.get("CLEANHEAT_API_TOKEN_RATE_PER_MINUTE", 120))
# /metrics (Prometheus) answers these client addresses or networks (the address as the audit log
# reads it: behind a proxy set CLEANHEAT_CLIENT_IP_HEADER), and any caller that sends
# `Authorization: Bearer <CLEANHEAT_METRICS_TOKEN>` when that is set; everyone else gets 403.
CLEANHEAT_METRICS_ALLOWED_IPS = [a.strip() for a in os.environ.get("CLEANHEAT_METRICS_ALLOWED_IPS", "127.0.0.1,::1")
                                 .split(",") if a.strip()]
CLEANHEAT_METRICS_TOKEN = os.environ.get("CLEANHEAT_METRICS_TOKEN", "")
# Run jobs inline in the request instead of through the queue (tests).
CLEANHEAT_TASKS_SYNC = os.environ.get("CLEANHEAT_TASKS_SYNC") == "1"
# Request size limits, answered 413: form and JSON bodies (Django's own setting), uploaded sheets.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("CLEANHEAT_MAX_BODY_BYTES", 2_621_440))
CLEANHEAT_MAX_UPLOAD_BYTES = int(os.environ.get("CLEANHEAT_MAX_UPLOAD_BYTES", 60 * 1024 * 1024))
# A declaration's photo (invoice, on-site): JPEG or PNG up to this size.
CLEANHEAT_MAX_ATTACHMENT_BYTES = int(os.environ.get("CLEANHEAT_MAX_ATTACHMENT_BYTES", 5 * 1024 * 1024))
# An inspection's photo or scan (acceptance, field visit, rectification): JPEG or PNG up to this size.
# Kept through the storage named "evidence" in STORAGES when configured (django-storages S3 in
# production), else DATA_DIR/evidence (cleanheat/inspections/files.py).
CLEANHEAT_MAX_EVIDENCE_BYTES = int(os.environ.get("CLEANHEAT_MAX_EVIDENCE_BYTES", 15 * 1024 * 1024))
# Notices' attachments (served only through a view that checks the reader's scope, never as /media/).
MEDIA_ROOT = DATA_DIR / "media"
# File storages: local folders under DATA_DIR, or an S3-compatible object store (MinIO, OSS) when
# CLEANHEAT_S3_BUCKET is set (cleanheat/filestores.py lists the variables). Files are served only
# through views that check the user's scope; the bucket is private.
STORAGES = build_storages(os.environ)
CLEANHEAT_NOTICE_MAX_ATTACHMENT_BYTES = int(os.environ.get("CLEANHEAT_NOTICE_MAX_ATTACHMENT_BYTES", 20 * 1024 * 1024))
# A second 催报 to the same county for the same period within this many minutes adds nothing.
CLEANHEAT_REMIND_COOLDOWN_MINUTES = int(os.environ.get("CLEANHEAT_REMIND_COOLDOWN_MINUTES", 60))
# SMS outbox (cleanheat/service/outbox.py): console | file (DATA_DIR/sms/outbox.jsonl) | http (a real gateway)
CLEANHEAT_SMS_BACKEND = os.environ.get("CLEANHEAT_SMS_BACKEND", "file")
CLEANHEAT_SMS_URL = os.environ.get("CLEANHEAT_SMS_URL", "")
CLEANHEAT_SMS_TOKEN = os.environ.get("CLEANHEAT_SMS_TOKEN", "")
CLEANHEAT_SMS_MAX_ATTEMPTS = int(os.environ.get("CLEANHEAT_SMS_MAX_ATTEMPTS", 5))
# ticket photos: larger uploads are refused; accepted ones are resized to at most this many pixels a side
CLEANHEAT_TICKET_PHOTO_MAX_BYTES = int(os.environ.get("CLEANHEAT_TICKET_PHOTO_MAX_BYTES", 15 * 1024 * 1024))
CLEANHEAT_TICKET_PHOTO_MAX_SIDE = int(os.environ.get("CLEANHEAT_TICKET_PHOTO_MAX_SIDE", 1600))
# An upload larger than this is spooled to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Searching by ID number or phone: the term waits (encrypted) in the session under a token that
# the list's URLs carry instead of the number (cleanheat/ledger/search.py).
SEARCH_TOKEN_SECONDS = int(os.environ.get("CLEANHEAT_SEARCH_TOKEN_SECONDS", 3600))

# Logs never carry a full ID number, bank card or phone (cleanheat/logmask.py): the filter sits on
# the request, access (runserver), application and root loggers and on both handlers. Warnings and
# errors of any library, and the application's and Django's information, go to stderr.
_MASK = ["mask_identifiers"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_identifiers": {"()": "cleanheat.logmask.MaskIdentifiers"}},
    "formatters": {
        "django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}",
                          "style": "{"},
    },
    "handlers": {
        "console": {"level": "INFO", "class": "logging.StreamHandler", "filters": _MASK},
        "django.server": {"level": "INFO", "class": "logging.StreamHandler", "formatter": "django.server",
                          "filters": _MASK},
    },
    "root": {"handlers": ["console"], "level": "WARNING", "filters": _MASK},
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "filters": _MASK},
        "django.request": {"level": "INFO", "filters": _MASK},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False, "filters": _MASK},
        "cleanheat": {"level": "INFO", "filters": _MASK},
    },
}
