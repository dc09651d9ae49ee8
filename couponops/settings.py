"""The one settings module: everything that differs between machines comes from the environment.

`.env.example` documents every variable. A `.env` file beside manage.py is read when present; the
process environment wins over it.
"""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://localhost:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_q",
    "import_export",
    "distribution",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "couponops.urls"
WSGI_APPLICATION = "couponops.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'couponops.sqlite3'}")}
SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if SQLITE:
    # The web server and the worker are two processes on one file: WAL lets readers go on
    # while the worker writes, and the busy timeout makes a writer wait instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = env("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("ko", _("Korean"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="Asia/Seoul")
USE_I18N = True
USE_THOUSAND_SEPARATOR = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # Django's own loggers keep their default handlers unless told otherwise, and then also pass each
    # record to the root: every error was printed twice. They go through the root's handler only.
    "loggers": {"django": {"handlers": [], "propagate": True}},
}

# --- Warehouse sources --------------------------------------------------------------------------
# A source is where the user ids of an audience are read from. `warehouse` is the Trino cluster;
# `demo` is an embedded DuckDB file so that the product runs on a machine with nothing installed.
COUPONOPS_SOURCES = {}
if env("TRINO_HOST", default=""):
    COUPONOPS_SOURCES["warehouse"] = {
        "kind": "trino",
        "host": env("TRINO_HOST"),
        "port": env.int("TRINO_PORT", default=8080),
        "user": env("TRINO_USER", default="couponops"),
        "password": env("TRINO_PASSWORD", default=""),
        "http_scheme": env("TRINO_HTTP_SCHEME", default="http"),
        # Basic auth over plain http sends the password in clear text: only on explicit request.
        "allow_insecure_auth": env.bool("TRINO_ALLOW_INSECURE_AUTH", default=False),
    }
COUPONOPS_SOURCES["demo"] = {
    "kind": "duckdb",
    "path": env("DEMO_DUCKDB_PATH", default=str(VAR_DIR / "demo.duckdb")),
}

# --- The distribution pipeline -----------------------------------------------------------------
# Ids per chunk: one transaction writes a chunk's coupons and its progress together, so a chunk is
# also the unit a crash can lose and a resume repeats.
DISTRIBUTION_CHUNK_SIZE = env.int("DISTRIBUTION_CHUNK_SIZE", default=20_000 if SQLITE else 100_000)
# SQLite lets one process write at a time and a busy writer can starve the others: on SQLite the
# worker pauses between chunks so that the web server's writes (a login, a new request) get a turn.
DISTRIBUTION_CHUNK_PAUSE = env.float("DISTRIBUTION_CHUNK_PAUSE", default=0.15 if SQLITE else 0)
# "auto" picks COPY on PostgreSQL and bulk_create elsewhere; "copy" or "bulk_create" force one.
DISTRIBUTION_WRITER = env("DISTRIBUTION_WRITER", default="auto")
# A running request whose worker has not reported for this long is taken to be orphaned (its
# worker died) and is queued again from its checkpoint.
DISTRIBUTION_STALE_AFTER = env.int("DISTRIBUTION_STALE_AFTER", default=600)

# Four-eyes approval: a confirmed request waits for a second staff user holding the `approve`
# permission when it would issue more coupons than this, or (fixed-amount coupons only, whose
# cost is known) coupons × discount amount above the value limit. 0 switches a limit off.
DISTRIBUTION_APPROVAL_COUPONS = env.int("DISTRIBUTION_APPROVAL_COUPONS", default=1_000_000)
DISTRIBUTION_APPROVAL_VALUE = env.int("DISTRIBUTION_APPROVAL_VALUE", default=10_000_000)
# The preview counts members already holding the coupon by looking each id up; above this many
# targets that would keep the page waiting too long, and the worker's final count reports them.
DISTRIBUTION_PREVIEW_HOLDERS_LIMIT = env.int("DISTRIBUTION_PREVIEW_HOLDERS_LIMIT", default=1_000_000)
# Rows on one page of the admin's issued-coupon list (walked by key, never counted).
ADMIN_ISSUED_COUPONS_PER_PAGE = env.int("ADMIN_ISSUED_COUPONS_PER_PAGE", default=100)

# Tests only: a named point where the worker cluster kills itself (distribution/failpoints.py).
COUPONOPS_FAILPOINT = env("COUPONOPS_FAILPOINT", default="")

# --- The worker (django-q2) ----------------------------------------------------------------------
# One worker on the ORM broker. The broker hands a task out again when it is not acknowledged
# within `retry` seconds, even while the first delivery still runs, so `retry` must exceed
# `timeout`, and `timeout` must exceed the longest distribution we ever expect: 100M coupons at
# the slowest writer (bulk_create, ~26,000 rows/s) take about 65 minutes, hence 4 hours.
# Re-delivery is harmless anyway: the task claims work from the database, and a partial unique
# index lets only one request be `running`. max_attempts bounds re-deliveries of a task whose
# worker keeps dying; the request itself stays resumable.
Q_TIMEOUT = env.int("Q_TIMEOUT", default=4 * 60 * 60)
Q_CLUSTER = {
    "name": "couponops",
    "orm": "default",
    "workers": 1,
    "recycle": 50,
    "timeout": Q_TIMEOUT,
    "retry": Q_TIMEOUT + 15 * 60,
    "max_attempts": env.int("Q_MAX_ATTEMPTS", default=3),
    "catch_up": False,
    "poll": env.float("Q_POLL", default=0.5),
    "save_limit": 1000,
    "ack_failures": True,
    "label": "Django Q2",
    # Notifications run in a cluster of their own (`Q_CLUSTER_NAME=notifications manage.py runworker`)
    # so that a "started" message never waits behind the distribution it announces.
    "ALT_CLUSTERS": {
        "notifications": {"workers": 1, "timeout": 300, "retry": 360, "max_attempts": 2, "recycle": 500},
    },
}

# --- Notifications (Slack) -------------------------------------------------------------------------
# An incoming webhook, or a bot token and a channel for chat.postMessage; neither: messages are
# recorded and marked skipped. SLACK_API_URL is only changed to point at a test server.
SLACK_WEBHOOK_URL = env("SLACK_WEBHOOK_URL", default="")
SLACK_BOT_TOKEN = env("SLACK_BOT_TOKEN", default="")
SLACK_CHANNEL = env("SLACK_CHANNEL", default="")
SLACK_API_URL = env("SLACK_API_URL", default="https://slack.com/api/")
SLACK_TIMEOUT = env.int("SLACK_TIMEOUT", default=10)
# Attempts per message before it is marked failed; the wait doubles from NOTIFICATION_RETRY_BASE seconds.
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=6)
NOTIFICATION_RETRY_BASE = env.int("NOTIFICATION_RETRY_BASE", default=30)

# --- Security for deployments (`manage.py check --deploy`) --------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Off by default so that `make demo` works over plain http on localhost; production sets them.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
