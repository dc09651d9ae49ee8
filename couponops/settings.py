"""The one settings module: everything that differs between machines comes from the environment.

`.env.example` documents every variable. A `.env` file beside manage.py is read when present; the
process environment wins over it.
"""

from datetime import timedelta
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
    "common",
    "django_q",
    "import_export",
    "axes",
    "distribution",
    "notifications",
    "campaigns",
    "couponops",
    "api",
    "ninja",  # serves the API docs page's scripts from this server, not from a CDN
]

MIDDLEWARE = [
    # First, so that it times everything below it (couponops/metrics.py).
    "couponops.metrics.RequestLatencyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # site_middleware.*: the admin's own, skipped on /api/ (couponops/site_middleware.py).
    "couponops.site_middleware.Sessions",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "couponops.site_middleware.Authentication",
    # After authentication: a user's chosen language (the header's switch) wins over the browser's.
    "common.languages.UserLanguageMiddleware",
    # After authentication: its admin page shows the logged-in header (couponops/middleware.py).
    "couponops.middleware.RefuseNulCharactersMiddleware",
    "couponops.site_middleware.Messages",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
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
# Seconds a web process keeps its database connection between requests. A new PostgreSQL connection
# costs more than a whole API call (a redeem is one UPDATE), so the web server sets it (docs/systemd.md:
# CONN_MAX_AGE=60); the workers keep the default, a connection per task.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# An optional streaming standby of the primary (PostgreSQL's own replication, docs/throttle.md): the reads
# that tolerate DATABASE_REPLICA_MAX_LAG seconds of lag (the wallet, support's look-up) go to it while it is
# no further behind (common/routers.py); everything else, and every write, stays on the primary.
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **env.db("DATABASE_REPLICA_URL"),
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["common.routers.ReplicaRouter"]
DATABASE_REPLICA_MAX_LAG = env.float("DATABASE_REPLICA_MAX_LAG", default=1.0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: a locked-out user or address is refused before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

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
# One format for moments and one for dates per language (common/locale_formats/), wherever one is shown.
FORMAT_MODULE_PATH = ["common.locale_formats"]
# The currency of coupon amounts and money at stake: KRW reads "5,000원" in Korean, "5,000 KRW" in English.
CURRENCY = env("CURRENCY", default="KRW")
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# LOG_FORMAT=json: one JSON object per line (common/logs.py), for log search; plain text otherwise.
LOG_FORMAT = env("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "common.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json" if LOG_FORMAT == "json" else "plain"},
    },
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
        # Trino's spooling protocol (compressed segments) in this order of preference, or "direct"; a server
        # without spooling answers in the direct protocol anyway (docs/reader.md).
        "encoding": env("TRINO_ENCODING", default="json+lz4,json+zstd"),
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
# The throttle (distribution/throttle.py, docs/throttle.md): between chunks the worker reads how the members
# fare and yields to them. Past a signal's threshold the run slows down (half the chunk, twice the pause),
# past its critical value it pauses; when all are clear it speeds up again step by step. 0 switches a signal
# off; THROTTLE_ENABLED=false switches the throttle off (an operator's pause still holds the run).
THROTTLE_ENABLED = env.bool("THROTTLE_ENABLED", default=True)
# What a redeem does, a primary-key look-up on the bulk table and a durable commit, timed by the server every
# THROTTLE_PROBE_INTERVAL seconds while the run writes: the 90th percentile since the last chunk, in
# milliseconds. Idle about 1 ms; 6–17 ms under a 10M COPY on two cores. The threshold holds while members
# write to the bulk table (a run alone is not slowed for its own WAL); the critical value always.
THROTTLE_LATENCY_MS = env.float("THROTTLE_LATENCY_MS", default=10)
THROTTLE_LATENCY_CRITICAL_MS = env.float("THROTTLE_LATENCY_CRITICAL_MS", default=500)
THROTTLE_PROBE_INTERVAL = env.float("THROTTLE_PROBE_INTERVAL", default=0.1)
# A member's call as members meet it: a GET of THROTTLE_PROBE_URL (the Coupon API's /healthz behind the same
# web server, e.g. http://127.0.0.1:8000/healthz) every THROTTLE_CALL_INTERVAL seconds, timed by the clock,
# the web server's queue included: on a machine whose CPUs the run shares with the web server, that wait is
# the members' and the database probe cannot see it. Empty: not timed.
THROTTLE_PROBE_URL = env.str("THROTTLE_PROBE_URL", default="")
THROTTLE_CALL_INTERVAL = env.float("THROTTLE_CALL_INTERVAL", default=0.25)
THROTTLE_CALL_LATENCY_MS = env.float("THROTTLE_CALL_LATENCY_MS", default=40)
THROTTLE_CALL_LATENCY_CRITICAL_MS = env.float("THROTTLE_CALL_LATENCY_CRITICAL_MS", default=1000)
# Other sessions running a query at once, and sessions waiting for a lock (pg_stat_activity, averaged).
THROTTLE_ACTIVE_SESSIONS = env.float("THROTTLE_ACTIVE_SESSIONS", default=16)
THROTTLE_ACTIVE_SESSIONS_CRITICAL = env.float("THROTTLE_ACTIVE_SESSIONS_CRITICAL", default=64)
THROTTLE_LOCK_WAITS = env.float("THROTTLE_LOCK_WAITS", default=4)
THROTTLE_LOCK_WAITS_CRITICAL = env.float("THROTTLE_LOCK_WAITS_CRITICAL", default=16)
# Seconds the read replica is behind, when there is one (gh-ost's --max-lag-millis).
THROTTLE_REPLICA_LAG = env.float("THROTTLE_REPLICA_LAG", default=1.0)
THROTTLE_REPLICA_LAG_CRITICAL = env.float("THROTTLE_REPLICA_LAG_CRITICAL", default=10.0)
# How slow a slowed run may get: chunks of at least this many ids, pauses of at most this many seconds.
THROTTLE_MIN_CHUNK = env.int("THROTTLE_MIN_CHUNK", default=2_000)
THROTTLE_MAX_PAUSE = env.float("THROTTLE_MAX_PAUSE", default=2.0)
# The most ids per second a run writes, throttle or not; 0: as fast as it can.
THROTTLE_MAX_ROWS_PER_SECOND = env.int("THROTTLE_MAX_ROWS_PER_SECOND", default=0)
# A paused run (critical signal, or an operator) checks every THROTTLE_CHECK_INTERVAL seconds whether it may
# go on. Trino abandons a query not read from for 5 minutes: a run paused longer than THROTTLE_HOLD_SECONDS
# stops as failed, and a retry resumes it after its checkpoint.
THROTTLE_CHECK_INTERVAL = env.float("THROTTLE_CHECK_INTERVAL", default=1.0)
THROTTLE_HOLD_SECONDS = env.float("THROTTLE_HOLD_SECONDS", default=240)
# "auto" picks COPY on PostgreSQL and bulk_create elsewhere; "copy" or "bulk_create" force one.
DISTRIBUTION_WRITER = env("DISTRIBUTION_WRITER", default="auto")
# DISTRIBUTION_WRITER=http: a coupon service elsewhere that speaks the Coupon API's issue call.
COUPON_API_URL = env("COUPON_API_URL", default="")
COUPON_API_KEY = env("COUPON_API_KEY", default="")
COUPON_API_CONCURRENCY = env.int("COUPON_API_CONCURRENCY", default=4)  # calls in flight at once
COUPON_API_TIMEOUT = env.float("COUPON_API_TIMEOUT", default=30)  # seconds one call may take
# One call is tried this often, for at most this many seconds, before the run stops (a retry resumes it).
COUPON_API_ATTEMPTS = env.int("COUPON_API_ATTEMPTS", default=6)
COUPON_API_RETRY_FOR = env.float("COUPON_API_RETRY_FOR", default=120)
# The running request's lease (distribution/lease.py): its worker renews it every
# DISTRIBUTION_LEASE_INTERVAL seconds, chunk or no chunk; one not renewed for DISTRIBUTION_STALE_AFTER
# seconds belongs to a dead worker, and the cluster's periodic look queues the request again from its
# checkpoint (within about a minute of the death, with the defaults).
DISTRIBUTION_LEASE_INTERVAL = env.float("DISTRIBUTION_LEASE_INTERVAL", default=5)
DISTRIBUTION_STALE_AFTER = env.float("DISTRIBUTION_STALE_AFTER", default=45)
# A run failing for a transient reason (distribution/failures.py) is queued again after
# DISTRIBUTION_RETRY_WAIT seconds, doubling each time (1, 2, 4, 8, 16 minutes), at most
# DISTRIBUTION_RETRY_TIMES times since a person last pressed Retry; then it fails.
DISTRIBUTION_RETRY_WAIT = env.float("DISTRIBUTION_RETRY_WAIT", default=60)
DISTRIBUTION_RETRY_TIMES = env.int("DISTRIBUTION_RETRY_TIMES", default=5)

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

# --- Operations: metrics, health, worker liveness ---------------------------------------------------
# /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; without a token it does not exist (404).
# Under gunicorn with several workers, also set PROMETHEUS_MULTIPROC_DIR (see couponops/metrics.py).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# A worker cluster records a heartbeat this often (seconds), busy or idle; `manage.py checkworker` and
# the admin call it stopped when its last beat is older than WORKER_HEARTBEAT_STALE.
WORKER_HEARTBEAT_INTERVAL = env.float("WORKER_HEARTBEAT_INTERVAL", default=10)
WORKER_HEARTBEAT_STALE = env.float("WORKER_HEARTBEAT_STALE", default=60)
# --- The Coupon API (/api/v1/) ------------------------------------------------------------------------
# A larger body is refused (413) before it is read: 10,000 ids of 19 digits fit in about 210 KB.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1_048_576)
# Most user ids in one issue call.
API_ISSUE_MAX_IDS = env.int("API_ISSUE_MAX_IDS", default=10_000)
# An issue call's claim on its idempotency key that is older than this belongs to a call that died
# (its work rolled back with it): another call with that key may take it over.
API_IDEMPOTENCY_STALE_AFTER = env.int("API_IDEMPOTENCY_STALE_AFTER", default=60)
# Idempotency keys are kept this many hours, then pruned (daily schedule, or `prune_idempotency_keys`).
API_IDEMPOTENCY_KEEP_HOURS = env.int("API_IDEMPOTENCY_KEEP_HOURS", default=24)

# --- Notifications (Slack) -------------------------------------------------------------------------
# An incoming webhook, or a bot token and a channel for chat.postMessage; neither: messages are
# recorded and marked skipped. SLACK_API_URL is only changed to point at a test server.
SLACK_WEBHOOK_URL = env("SLACK_WEBHOOK_URL", default="")
SLACK_BOT_TOKEN = env("SLACK_BOT_TOKEN", default="")
SLACK_CHANNEL = env("SLACK_CHANNEL", default="")
SLACK_API_URL = env("SLACK_API_URL", default="https://slack.com/api/")
SLACK_TIMEOUT = env.int("SLACK_TIMEOUT", default=10)
# Usernames to Slack member ids ("alice=U024BE7LH,bob=U0G9QF9C6"), so that a message can mention
# a requester (a cancel by someone else); a user without one is named by username.
SLACK_USER_IDS = env.dict("SLACK_USER_IDS", default={})
# Attempts per message before it is marked failed; the wait doubles from NOTIFICATION_RETRY_BASE seconds.
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=6)
NOTIFICATION_RETRY_BASE = env.int("NOTIFICATION_RETRY_BASE", default=30)

# --- Login throttling (django-axes) ----------------------------------------------------------------
# An account that can issue millions of coupons: after AXES_FAILURE_LIMIT failed logins for one
# username from one address, that username is refused from that address for AXES_COOLOFF_MINUTES
# (even with the right password); a successful login clears the count. Username and address
# together, so that one person's failures on a shared office computer never lock a colleague who
# types the right password (docs/lockout.md). The login form warns from the third failure how many
# tries are left. An administrator unlocks at once with `manage.py axes_reset_username <name>` (or
# axes_reset_ip, axes_reset) or by deleting the access attempt in the admin.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Our page, in the admin's look and the browser's language (couponops/lockout.py).
AXES_LOCKOUT_CALLABLE = "couponops.lockout.locked_out"
# The client address is REMOTE_ADDR; behind TRUSTED_PROXY_COUNT trusted reverse proxies it is the one
# the outermost proxy appended to X-Forwarded-For, or every login would share (and lock) the proxy's.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "couponops.lockout.client_address"
AXES_USERNAME_CALLABLE = "couponops.lockout.login_username"

# --- Security for deployments (`manage.py check --deploy`) --------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Off by default so that `make demo` works over plain http on localhost; production sets them.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Load balancers and orchestrators probe over plain http inside the network; /metrics carries a token
# and stays behind the redirect.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
