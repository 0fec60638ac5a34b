"""Settings for every environment, read from the environment with safe local defaults.

Unset ``DATABASE_URL`` means a SQLite file in the project; unset ``REDIS_URL`` means Celery runs
tasks eagerly and the cache is in-process, so ``make run`` needs nothing but Python.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "local-development-key-not-for-production-use")
DEBUG = env_bool("DEBUG", True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "simple_history",
    "template_partials",
    "csp",
    "aftercare",
    "catalogue",
    "enrollment",
    "attendance",
    "compensation",
    "surveys",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "aftercare.middleware.SessionLifetimeMiddleware",
    "aftercare.middleware.RequireTwoFactorMiddleware",
    "aftercare.middleware.NoStoreForSignedInMiddleware",
]

ROOT_URLCONF = "aftercare.urls"
WSGI_APPLICATION = "aftercare.wsgi.application"

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
                "aftercare.context_processors.portal",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "aftercare.User"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "aftercare"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: eager without Redis, so a newcomer's `make run` needs no broker.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A page must never hang on the broker: give up publishing quickly and let the sweep retry.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "max_retries": 0,
}
CELERY_BEAT_SCHEDULE = {
    "dispatch-stranded-jobs": {
        "task": "aftercare.tasks.dispatch_stranded_jobs_task",
        "schedule": timedelta(minutes=1),
    },
    "prepare-sessions": {
        "task": "attendance.tasks.prepare_sessions_task",
        "schedule": crontab(hour=1, minute=0),
    },
    "alert-unmarked-sessions": {
        "task": "attendance.tasks.alert_unmarked_sessions_task",
        "schedule": timedelta(minutes=5),
    },
    "sweep-roster-uploads": {
        "task": "aftercare.tasks.sweep_roster_uploads_task",
        "schedule": crontab(hour=2, minute=30),
    },
    "alert-missing-hand-overs": {
        "task": "attendance.tasks.alert_missing_hand_overs_task",
        "schedule": timedelta(minutes=5),
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "aftercare.auth_backends.UsernameOrPhoneBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# Sign-in (django-allauth)
SITE_ID = 1
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "aftercare.adapters.AccountAdapter"
ACCOUNT_USER_DISPLAY = "aftercare.adapters.user_display"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
# A school's staff sign in from behind one NAT address at 16:00: the per-IP limit must let 150
# correct sign-ins through in a minute, while wrong passwords stay limited per account.
ACCOUNT_RATE_LIMITS = {
    "login": os.environ.get("LOGIN_RATE_LIMIT_PER_IP", "1000/m/ip"),
    "login_failed": os.environ.get("LOGIN_FAILED_RATE_LIMIT", "200/m/ip,5/300s/key"),
}
ALLAUTH_TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "AfterCare"
# Roles that must have TOTP before they reach any page of their role.
AFTERCARE_REQUIRE_TWO_FACTOR = env_bool("REQUIRE_TWO_FACTOR", False)

# Sessions: staff 30 minutes idle and 12 hours in all; parents may stay signed in longer.
SESSION_COOKIE_AGE = int(timedelta(days=30).total_seconds())
AFTERCARE_STAFF_IDLE_SECONDS = 30 * 60
AFTERCARE_STAFF_ABSOLUTE_SECONDS = 12 * 60 * 60
AFTERCARE_PARENT_IDLE_SECONDS = int(timedelta(days=30).total_seconds())

LANGUAGE_CODE = "zh-hans"
# Each language is named in itself, so a reader finds their own.
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
FORMAT_MODULE_PATH = ["aftercare.formats"]
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# The address of the portal, for links in emails sent by workers (which have no request).
AFTERCARE_SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")
# Text messages to guardians (absence alerts): a dotted path to an ``aftercare.sms.SmsGateway``. The
# console gateway writes them to the log; a real provider plugs in here.
AFTERCARE_SMS_GATEWAY = os.environ.get("SMS_GATEWAY", "aftercare.sms.ConsoleSmsGateway")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "课后服务平台 <noreply@aftercare.local>")

# Content-Security-Policy: no inline scripts, nothing from other origins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}

# Demo: the local demo may skip the two-factor rule, and says so on every page.
AFTERCARE_DEMO_BANNER = env_bool("DEMO_BANNER", DEBUG)
