"""Settings of Awaiting-death, read from the environment only (see ``.env.example``).

Every default serves one machine: SQLite, the kombu filesystem broker and local media,
all under ``var/``. ``DATABASE_URL``, ``CELERY_BROKER_URL`` and friends move the same code
to PostgreSQL, Redis and the rest.
"""

from __future__ import annotations

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    BASE_DIR,
    allauth_oidc_apps,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_networks,
    env_oidc_providers,
    env_path,
    env_str,
    secret_key_file,
    var_dir,
)

VAR_DIR = var_dir()

DJANGO_ENV = env_choice("DJANGO_ENV", "development", ("development", "test", "production"))
IS_PRODUCTION = DJANGO_ENV == "production"
IS_TEST = DJANGO_ENV == "test"


def _secret_key() -> str:
    """Return ``SECRET_KEY``, or the key generated once into ``var/secret_key`` by the
    command that started this process (``config.local_state.prepare_local_state``)."""
    given = env_str("SECRET_KEY")
    if given:
        return given
    if IS_PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when DJANGO_ENV=production")
    try:
        return secret_key_file().read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ImproperlyConfigured(
            f"SECRET_KEY is not set and {secret_key_file()} does not exist: start with "
            "`make run` or `python manage.py ...`, which generate it, or set SECRET_KEY."
        ) from None


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", default=False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Absolute base of share links when a request is not at hand (tasks, e-mails).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.mfa",
    "core",
    "accounts",
    "archives",
    "sharing",
    "resumable",
    "notifications",
    "inbox",
]

MIDDLEWARE = [
    # First, so every log record of the request carries its id.
    "core.requests.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.security.SecurityHeadersMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # django-allauth's: keeps a sign-in in progress (its stages, such as a second factor).
    "allauth.account.middleware.AccountMiddleware",
    # After the session, messages and allauth's context, which it uses.
    "accounts.middleware.RequireTwoFactorMiddleware",
    # Last, so it sees what a view raises before any other middleware answers for it.
    "core.exceptions.StorageFullMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "django.template.context_processors.i18n",
                "accounts.context_processors.sign_in",
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL names another.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_health_checks=True,
    )
}
_IS_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
# SQLite connections are kept (opening one reads the schema again: 2.6 ms more per
# request); a server's are not by default, since every web thread would keep one open
# (WEB_WORKERS x WEB_THREADS), more than PostgreSQL allows.
DATABASES["default"]["CONN_MAX_AGE"] = env_int(
    "DATABASE_CONN_MAX_AGE", 600 if _IS_SQLITE else 0, minimum=0
)
if _IS_SQLITE:
    # A file, not memory, so a live worker process can share the test database; WAL and a
    # busy timeout let web threads and the worker write without "database is locked".
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Argon2id (core/hashers.py); PBKDF2 checks the passwords stored before, and each is
# stored again with Argon2id at its next successful sign-in.
PASSWORD_HASHERS = [
    "core.hashers.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if IS_TEST:
    # Hashing strength is not under test; a fast hasher keeps the suite quick (the
    # others stay listed, so their hashes are checked and upgraded as in production).
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]

LOGIN_URL = "accounts:login"
# Sign-in runs through django-allauth's flow (accounts/adapters.py, accounts/views.py), so
# its stages (a second factor) apply; Django's backend checks the password, allauth's
# logs in the users its flows found (an identity provider's).
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_FORMS = {"login": "accounts.forms.LoginForm"}
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
# A session lasts SESSION_COOKIE_AGE, as it did before: no "remember me" box.
ACCOUNT_SESSION_REMEMBER = True
# Password logins are limited by accounts.services.authenticate_user (failures per name
# and address, 429 with Retry-After), not by allauth's "login_failed" and "login" limits;
# its other limits (reauthentication, password change and reset, ...) stay, counted in
# the cache by the address ours count (accounts.adapters), answered by templates/429.html.
ACCOUNT_RATE_LIMITS = {"login_failed": None, "login": None}
# Sign-in with OpenID Connect providers (a JSON list, see .env.example and
# docs/production.md), through allauth's openid_connect provider with PKCE; our subclass
# adds the nonce (accounts/oidc.py), the adapter the rules (accounts/adapters.py).
OIDC_PROVIDERS = env_oidc_providers("OIDC_PROVIDERS")
# false: no password sign-in or registration (pages, API token, admin); the providers
# only. API keys still work.
PASSWORD_LOGIN = env_bool("PASSWORD_LOGIN", default=True)
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "provider_class": "accounts.oidc.OpenIDConnectProvider",
        "OAUTH_PKCE_ENABLED": True,
        "APPS": allauth_oidc_apps(OIDC_PROVIDERS),
    }
}
# A first sign-in makes an account at once (no form); an existing account is found by an
# address both sides verified (accounts.adapters.SocialAccountAdapter.authenticate_by_email)
# and the provider is then connected to it.
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_STORE_TOKENS = False
# The page a refused form shows, in the site's look (templates/403_csrf.html).
CSRF_FAILURE_VIEW = "archives.views.csrf_failure"
LOGIN_REDIRECT_URL = "/"
# Two-factor sign-in (allauth.mfa, accounts/two_factor.py): an authenticator app (TOTP)
# with recovery codes, and passkeys, which may also sign in without the password. A code
# is checked by one form, for the sign-in prompt and the token endpoint, throttled like
# passwords. REQUIRE_TWO_FACTOR: a signed-in user without a second factor reaches only the
# pages that add one (and sign-out), and the API refuses them (403).
REQUIRE_TWO_FACTOR = env_bool("REQUIRE_TWO_FACTOR", default=False)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
# A passkey alone signs in only where passwords do: with PASSWORD_LOGIN false every
# sign-in goes through a provider (which can then stop an account), and a passkey is a
# second factor after it.
MFA_PASSKEY_LOGIN_ENABLED = PASSWORD_LOGIN
# The name authenticator apps show beside the code (allauth's default: the host name).
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "Awaiting-death")
# A code of the step before or after the current one is taken too (RFC 6238, 5.2: one
# step of delay): a code typed as the app turns to the next is not refused. Each code
# still works once (accounts.two_factor.claim_code keeps it for the three steps).
MFA_TOTP_TOLERANCE = 1
MFA_FORMS = {"authenticate": "accounts.forms.SecondFactorForm"}
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# Tests and development find static files where they lie; production serves the
# collected, hashed copies.
WHITENOISE_USE_FINDERS = IS_TEST or DEBUG
# Front-end packages from npm, copied by `make` into var/vendor (never committed).
# Not under VAR_DIR: a test run with its own VAR_DIR still finds them.
VENDOR_DIR = BASE_DIR / "var" / "vendor"
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor", VENDOR_DIR)]
MEDIA_ROOT = env_path("MEDIA_ROOT", VAR_DIR / "media")
FILE_UPLOAD_TEMP_DIR = str(VAR_DIR / "tmp")
# Django's, but a file part that fails to be written (a full disk) leaves no file behind.
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "core.parsers.TidyTemporaryFileHandler",
]
FILE_UPLOAD_PERMISSIONS = 0o640
# Where archives' files live (archives/storage.py): "local" keeps them under MEDIA_ROOT;
# "s3" keeps them in a bucket of S3-compatible storage, and MEDIA_ROOT then holds only a
# worker's scratch (builds in progress). Empty keys let boto3 find credentials itself
# (instance role, web identity).
STORAGE_BACKEND = env_choice("STORAGE_BACKEND", "local", ("local", "s3"))
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL")
AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME")
AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID")
AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY")
AWS_S3_ADDRESSING_STYLE = env_choice("AWS_S3_ADDRESSING_STYLE", "auto", ("auto", "path", "virtual"))
# Lifetime of the presigned URL a permitted download is redirected to.
S3_PRESIGN_SECONDS = env_int("S3_PRESIGN_SECONDS", 300, minimum=1)
# Part size of multipart transfers (S3 wants at least 5 MiB); memory per transfer stays
# at a few parts.
S3_TRANSFER_CHUNK_BYTES = env_int("S3_TRANSFER_CHUNK_BYTES", 8 * 1024**2, minimum=5 * 1024**2)
if STORAGE_BACKEND == "s3" and not AWS_STORAGE_BUCKET_NAME:
    raise ImproperlyConfigured("AWS_STORAGE_BUCKET_NAME must be set when STORAGE_BACKEND=s3")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if IS_TEST
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Limits of what one upload may hold (archives/limits.py applies them).
ARCHIVE_MAX_FILES = env_int("ARCHIVE_MAX_FILES", 1000, minimum=1)
ARCHIVE_MAX_BYTES = env_int("ARCHIVE_MAX_BYTES", 10 * 1024**3, minimum=1)
ARCHIVE_FILE_MAX_BYTES = env_int("ARCHIVE_FILE_MAX_BYTES", 10 * 1024**3, minimum=1)
USER_QUOTA_BYTES = env_int("USER_QUOTA_BYTES", 50 * 1024**3, minimum=1)
ARCHIVE_DEFAULT_TTL = env_int("ARCHIVE_DEFAULT_TTL", 7 * 86400, minimum=60)
ARCHIVE_MAX_TTL = env_int("ARCHIVE_MAX_TTL", 365 * 86400, minimum=60)
ARCHIVE_MAX_DOWNLOADS = env_int("ARCHIVE_MAX_DOWNLOADS", 1_000_000, minimum=1)
# Django refuses a multipart body with more files than this before the view runs.
DATA_UPLOAD_MAX_NUMBER_FILES = ARCHIVE_MAX_FILES + 1
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# Request bodies (core/bodies.py, around the WSGI application): at most this many read at
# once from one client address per web process (0: no cap), and a body that arrives slower
# than BODY_MIN_RATE bytes a second (0: no floor), averaged over the time spent waiting
# for it, is cut off with 408 once that wait passes BODY_GRACE_SECONDS.
BODIES_PER_ADDRESS = env_int("BODIES_PER_ADDRESS", 16, minimum=0)
BODY_MIN_RATE = env_int("BODY_MIN_RATE", 2048, minimum=0)
BODY_GRACE_SECONDS = env_int("BODY_GRACE_SECONDS", 10, minimum=0)

# The ZIP build.
BUILD_COMPRESSION_LEVEL = env_int("BUILD_COMPRESSION_LEVEL", 6, minimum=0)
BUILD_PROGRESS_INTERVAL = 0.5
# A build whose heartbeat is older than this is re-queued by the reaper (beat).
BUILD_STALL_SECONDS = env_int("BUILD_STALL_SECONDS", 120, minimum=10)
BUILD_MAX_ATTEMPTS = env_int("BUILD_MAX_ATTEMPTS", 3, minimum=1)
# A build that failed for a passing reason (full or failing storage) is tried again this
# many times, after growing pauses, before the archive stays failed.
BUILD_RETRIES = env_int("BUILD_RETRIES", 5, minimum=0)

# Download rules (sharing/downloads.py).
PASSWORD_ATTEMPTS_LIMIT = env_int("PASSWORD_ATTEMPTS_LIMIT", 5, minimum=1)
PASSWORD_ATTEMPTS_WINDOW = env_int("PASSWORD_ATTEMPTS_WINDOW", 900, minimum=1)
# Failed logins (page, API token, admin) before a pause: per username from one address,
# per address over every name (both in LOGIN_ATTEMPTS_WINDOW), and per username from
# anywhere, a slower limit over LOGIN_ACCOUNT_WINDOW, so failures elsewhere do not lock
# the owner out at once.
LOGIN_ATTEMPTS_PER_USER = env_int("LOGIN_ATTEMPTS_PER_USER", 10, minimum=1)
LOGIN_ATTEMPTS_PER_IP = env_int("LOGIN_ATTEMPTS_PER_IP", 50, minimum=1)
LOGIN_ATTEMPTS_WINDOW = env_int("LOGIN_ATTEMPTS_WINDOW", 900, minimum=1)
LOGIN_ATTEMPTS_PER_ACCOUNT = env_int("LOGIN_ATTEMPTS_PER_ACCOUNT", 100, minimum=1)
LOGIN_ACCOUNT_WINDOW = env_int("LOGIN_ACCOUNT_WINDOW", 3600, minimum=1)
# Upload requests (inbox): the lifetime of one whose owner gave no expiry, and how many
# submissions, and tus uploads, one address may send in a window (over every request)
# before a 429.
UPLOAD_REQUEST_DEFAULT_TTL = env_int("UPLOAD_REQUEST_DEFAULT_TTL", 7 * 86400, minimum=60)
UPLOAD_REQUEST_SUBMISSIONS_PER_ADDRESS = env_int(
    "UPLOAD_REQUEST_SUBMISSIONS_PER_ADDRESS", 20, minimum=1
)
UPLOAD_REQUEST_UPLOADS_PER_ADDRESS = env_int("UPLOAD_REQUEST_UPLOADS_PER_ADDRESS", 1000, minimum=1)
UPLOAD_REQUEST_SUBMISSIONS_WINDOW = env_int("UPLOAD_REQUEST_SUBMISSIONS_WINDOW", 3600, minimum=1)
DOWNLOAD_GRANT_TTL = env_int("DOWNLOAD_GRANT_TTL", 6 * 3600, minimum=60)
# A grant serves at most the archive's size plus this percentage of it, in total: whole,
# in ranges, resumed or in parallel (sharing.downloads.grant_budget).
DOWNLOAD_GRANT_SLACK = env_int("DOWNLOAD_GRANT_SLACK", 10, minimum=0)
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")
# Privacy of the download log: "network" keeps only the /24 (IPv4) or /48 (IPv6) of a
# client's address; rows older than LOG_RETENTION_DAYS are deleted (0 keeps them).
LOG_IP_ANONYMIZE = env_choice("LOG_IP_ANONYMIZE", "none", ("none", "network"))
LOG_RETENTION_DAYS = env_int("LOG_RETENTION_DAYS", 0, minimum=0)
# The integrity scrub re-reads at most this many bytes per run (beat, every 10 minutes).
SCRUB_BYTES_PER_RUN = env_int("SCRUB_BYTES_PER_RUN", 2 * 1024**3, minimum=1)
# A stored file under MEDIA_ROOT that no archive names is removed (beat, hourly) once it
# has not changed for this long: longer than an upload takes from stored to committed.
ORPHAN_GRACE_SECONDS = env_int("ORPHAN_GRACE_SECONDS", 24 * 3600, minimum=600)
# "nginx": a permitted download answers with X-Accel-Redirect to DOWNLOAD_ACCEL_LOCATION +
# the storage name, and nginx sends the file (deploy/nginx/).
DOWNLOAD_ACCEL = env_choice("DOWNLOAD_ACCEL", "none", ("none", "nginx"))
DOWNLOAD_ACCEL_LOCATION = env_str("DOWNLOAD_ACCEL_LOCATION", "/protected/")

# Resumable uploads (tus 1.0, resumable/): unfinished or unused uploads are removed this
# long after their last byte arrived; the upload page sends each file in requests of at
# most TUS_CHUNK_BYTES (a proxy in front may cap request bodies).
TUS_EXPIRE_SECONDS = env_int("TUS_EXPIRE_SECONDS", 24 * 3600, minimum=60)
TUS_CHUNK_BYTES = env_int("TUS_CHUNK_BYTES", 64 * 1024**2, minimum=1024**2)
# The limits a new upload must pass: the archives' (count, sizes, quota), told what the
# uploads still open hold. resumable knows the callable by this name only.
RESUMABLE_UPLOAD_CHECK = "archives.limits.check_upload_limits"
# What users store, for the accounts admin's list (accounts imports no archives).
ACCOUNT_USAGE = "archives.limits.with_usage"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes a missing login a 401, not a 403.
        "rest_framework.authentication.TokenAuthentication",
        # API keys (Authorization: Bearer), limited to the scopes their views declare.
        "accounts.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.api.permissions.KeyScopePermission",
        "accounts.api.permissions.SecondFactorPermission",
    ],
    # JSON only; the one view that takes files adds multipart for that operation
    # (archives.api.views.ArchiveViewSet.get_parsers). Another body type is a 415.
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONBodyParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.StrictPageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "accounts.api.schema.ScopedAutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.handle_api_exception",
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Awaiting-death API",
    "DESCRIPTION": "Share several files as one ZIP archive behind a link.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.add_error_responses",
        "core.schema.escape_patterns",
        "core.schema.add_links",
    ],
}

# Celery: the filesystem transport under var/ unless CELERY_BROKER_URL names a broker.
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", env_str("REDIS_URL", "filesystem://"))
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(BROKER_DIR / "control"),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

# Django's cache holds what allauth counts and remembers (passkey sign-in and
# re-authentication limits, codes just used): every process of the site must share it.
# CACHE_URL names a Redis for it; by default the broker's Redis, else files under var/
# (the processes of `make run` share them). The tests keep one in memory per process.
CACHE_URL = env_str("CACHE_URL", CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "")
if IS_TEST:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
elif CACHE_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 6 * 3600, minimum=60)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Workers find each app's tasks.py themselves; the tasks beat runs that sit above the
# services (archives.periodic) are named here.
CELERY_IMPORTS = ["archives.periodic"]
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "purge-expired": {"task": "archives.periodic.purge_expired_task", "schedule": 600.0},
    "purge-old-downloads": {
        "task": "archives.periodic.purge_old_downloads_task",
        "schedule": 3600.0,
    },
    "scrub-archives": {"task": "archives.periodic.scrub_archives_task", "schedule": 600.0},
    "purge-failure-windows": {
        "task": "accounts.tasks.purge_failure_windows_task",
        "schedule": 3600.0,
    },
    "requeue-stalled-builds": {
        "task": "archives.periodic.requeue_stalled_builds_task",
        "schedule": 60.0,
    },
    "remove-orphan-files": {
        "task": "archives.periodic.remove_orphan_files_task",
        "schedule": 3600.0,
    },
    "purge-expired-uploads": {
        "task": "resumable.tasks.purge_expired_uploads_task",
        "schedule": 600.0,
    },
}

# Notifications (notifications/): signed webhooks and e-mail on archive events.
# Webhook targets must resolve to public addresses unless WEBHOOK_ALLOW_PRIVATE is true.
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", default=False)
WEBHOOK_TIMEOUT = env_int("WEBHOOK_TIMEOUT", 10, minimum=1)
# Attempts per delivery; attempt n+1 waits WEBHOOK_RETRY_BASE * 2**(n-1) seconds.
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 5, minimum=1)
WEBHOOK_RETRY_BASE = env_int("WEBHOOK_RETRY_BASE", 60, minimum=1)
WEBHOOK_MAX_PER_USER = env_int("WEBHOOK_MAX_PER_USER", 20, minimum=1)
NOTIFY_FROM_EMAIL = env_str("NOTIFY_FROM_EMAIL", "Awaiting-death <noreply@localhost>")
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)

# Security headers; production adds the HTTPS-only ones.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if IS_PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Operations: logs (plain or one JSON object a line, each with its request id) and the
# Prometheus /metrics endpoint (core/metrics.py).
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_choice("DJANGO_LOG_FORMAT", "plain", ("plain", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
# Celery would replace the root handler with its own plain one; JSON logs keep ours.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT == "plain"
METRICS_ENABLED = env_bool("METRICS_ENABLED", default=False)
METRICS_TOKEN = env_str("METRICS_TOKEN")
# Port on which each Celery worker serves its metrics (0: none).
METRICS_WORKER_PORT = env_int("METRICS_WORKER_PORT", 0, minimum=0)
# prometheus-client reads this variable itself; /metrics then adds up all processes.
METRICS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")
# Probes and scrapers talk plain HTTP to the pod or container, not through TLS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
