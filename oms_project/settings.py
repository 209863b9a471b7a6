"""Settings for the OMS, read from the environment only.

With no environment at all the system runs embedded: a SQLite file next to the code, Celery
tasks run eagerly in process, e-mails go to the console and the e-mail log table. Every
variable is listed, one per line, in `.env.example`.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


DEBUG = env_bool("DEBUG", False)
# Without SECRET_KEY the embedded default runs on a key marked insecure, which
# `check --deploy` reports (security.W009), so a production deploy cannot miss it.
SECRET_KEY = os.environ.get("SECRET_KEY") or (
    "django-insecure-embedded-development-key-change-me-0123456789abcdef"
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "django_countries",
    "oms_project",
    "customers",
    "warehouses",
    "inventory",
    "orders",
    "returns",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "oms_project.api.ApiErrorMiddleware",
]

ROOT_URLCONF = "oms_project.urls"

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

WSGI_APPLICATION = "oms_project.wsgi.application"

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent writers (dev server + eager tasks) wait instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME") or None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
# Stock allocation's one statement is prepared once per connection (PostgreSQL); turn off
# behind a pooler that cannot keep prepared statements.
DATABASE_PREPARE_ALLOCATION = env_bool("DATABASE_PREPARE_ALLOCATION", True)

# --- Auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or not env_bool("STATIC_MANIFEST", not DEBUG)
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "media/"
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 20000

# --- Security (production) ------------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "orders@oms.localhost")
OMS_STAFF_ALERT_EMAILS = env_list("OMS_STAFF_ALERT_EMAILS", "ops@oms.localhost")

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "memory://localhost/")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ALWAYS_EAGER = env_bool(
    "CELERY_TASK_ALWAYS_EAGER", not os.environ.get("CELERY_BROKER_URL")
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = TIME_ZONE
# A worker keeps its database connection from task to task: Celery's Django fixup closes it
# only every this many tasks, and `oms_project.celery` drops it sooner, as a request would,
# when it broke or is older than DATABASE_CONN_MAX_AGE.
CELERY_DB_REUSE_MAX = 1000
# Task modules outside the apps' `tasks.py` that workers must load.
CELERY_IMPORTS = ["orders.notice_tasks"]
CELERY_BEAT_SCHEDULE = {
    # Nightly: check that every stock level equals the sum of its ledger and reservations.
    "inventory-reconcile-nightly": {
        "task": "inventory.tasks.inventory_reconcile_task",
        "schedule": 24 * 60 * 60,
    },
    # Every minute: release timed stock holds whose checkout expired.
    "inventory-release-expired-reservations": {
        "task": "inventory.tasks.reservations_release_expired_task",
        "schedule": 60,
    },
    # Hourly: close stock import jobs whose worker died mid-run (failed, or completed if
    # their rows reached the ledger), so none stays "running" forever.
    "inventory-close-stale-imports": {
        "task": "inventory.tasks.import_jobs_close_stale_task",
        "schedule": 60 * 60,
    },
    # Every minute: give back the stock of storefront checkouts whose hold ran out.
    "orders-expire-checkouts": {
        "task": "orders.tasks.checkouts_expire_task",
        "schedule": 60,
    },
    # Every minute: dispatch outbox rows whose after-commit dispatch was lost.
    "outbox-sweep": {
        "task": "oms_project.tasks.outbox_sweep_task",
        "schedule": 60,
    },
    # Every minute: send webhook deliveries whose next (retry) attempt is due.
    "webhook-deliveries-due": {
        "task": "oms_project.tasks.webhook_deliveries_sweep_task",
        "schedule": 60,
    },
    # Hourly: e-mail customers whose parcels are late or whose lines wait for stock (once per
    # delay).
    "orders-delay-notices": {
        "task": "orders.notice_tasks.delay_notices_send_task",
        "schedule": 60 * 60,
    },
    # Hourly: ask customers OMS_FOLLOW_UP_DAYS after delivery whether all was right.
    "orders-delivery-follow-ups": {
        "task": "orders.notice_tasks.delivery_follow_ups_send_task",
        "schedule": 60 * 60,
    },
    # Hourly: forget idempotency records older than their retention.
    "idempotency-cleanup": {
        "task": "orders.tasks.idempotency_cleanup_task",
        "schedule": 60 * 60,
    },
    # Hourly: draft purchase orders (per preferred supplier and warehouse) for every SKU whose
    # projected stock is at or below its reorder point or short of backorders.
    "orders-replenishment-suggest": {
        "task": "orders.tasks.replenishment_run_task",
        "schedule": 60 * 60,
    },
    # Every 15 minutes: date newly backordered lines by the purchase order expected to fill
    # them and tell their customers (once per line and date).
    "orders-backorder-dates": {
        "task": "orders.tasks.backorder_dates_refresh_task",
        "schedule": 15 * 60,
    },
    # Every minute: record due subscription runs and place their orders (and payment retries).
    "orders-subscriptions-tick": {
        "task": "orders.tasks.subscriptions_tick_task",
        "schedule": 60,
    },
    # Every 15 minutes: remind subscribers of a run due within their channel's lead days.
    "orders-subscription-reminders": {
        "task": "orders.tasks.subscription_reminders_send_task",
        "schedule": 15 * 60,
    },
    # Daily: remind customers once of a pickup waiting OMS_PICKUP_REMINDER_DAYS on the shelf.
    "orders-pickup-reminders": {
        "task": "orders.tasks.pickup_reminders_send_task",
        "schedule": 24 * 60 * 60,
    },
}

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "oms_project.api.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["oms_project.api.HasApiAccess"],
    "DEFAULT_PAGINATION_CLASS": "oms_project.api.CursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "oms_project.schema.OmsAutoSchema",
    "EXCEPTION_HANDLER": "oms_project.api.problem_exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # JSON only: a form-encoded or multipart body is a 415, not a form to guess from (the
    # CSV import endpoint takes multipart uploads itself).
    "DEFAULT_PARSER_CLASSES": ["oms_project.api.JSONParser"],
    "PAGE_SIZE": 50,
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OMS API",
    "DESCRIPTION": (
        "Order management API for sales channels and back-office systems. Authenticate with "
        "`Authorization: Bearer <key>`; errors are application/problem+json."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.states.OrderStatus",
        "PaymentStatusEnum": "orders.models.Payment.Status",
        "PaymentInputStatusEnum": "orders.input_serializers.PAYMENT_INPUT_STATUSES",
        "ReturnStatusEnum": "returns.states.ReturnStatus",
        "ReturnReasonEnum": "returns.models.ReturnReason",
        "RefundKindEnum": "returns.models.Refund.Kind",
        "ShipmentStatusEnum": "orders.models.Shipment.Status",
        "WebhookDeliveryStatusEnum": "oms_project.models.WebhookDelivery.Status",
        "WebhookAttemptOutcomeEnum": "oms_project.models.WebhookAttempt.Outcome",
        "SubscriptionStatusEnum": "orders.subscription_models.SubscriptionStatus",
        "FulfillmentStatusEnum": "orders.fulfillment_states.FulfillmentStatus",
    },
}

# --- OMS ------------------------------------------------------------------------------------
OMS_BRAND_NAME = os.environ.get("OMS_BRAND_NAME", "OMS")
OMS_IDEMPOTENCY_RETENTION_HOURS = env_int("OMS_IDEMPOTENCY_RETENTION_HOURS", 48)
OMS_MAX_ORDER_LINES = 500
# Ways staff may pay a refund besides the order's own payment methods (money sent outside the
# payment processor, e.g. when the card has expired, or as store credit).
OMS_MANUAL_REFUND_METHODS = env_list(
    "OMS_MANUAL_REFUND_METHODS", "bank_transfer,cash,store_credit"
)
OMS_MAX_LINE_QUANTITY = env_int("OMS_MAX_LINE_QUANTITY", 10000)
OMS_MAX_BULK_ITEMS = 500
OMS_CSV_IMPORT_MAX_BYTES = env_int("OMS_CSV_IMPORT_MAX_BYTES", 50 * 1024 * 1024)
# Customer notices: follow-up e-mail this many days after delivery (0: off); delay notice for
# lines still waiting for stock this many hours after the order was placed.
OMS_FOLLOW_UP_DAYS = env_int("OMS_FOLLOW_UP_DAYS", 7)
# How long a process keeps the channel locations, rule sets, outages and postal-code centres it
# routes new orders with (orders/services/routing_config.py); 0 reads them for every order.
OMS_ROUTING_CONFIG_SECONDS = env_int("OMS_ROUTING_CONFIG_SECONDS", 5)
OMS_BACKORDER_NOTICE_AFTER_HOURS = env_int("OMS_BACKORDER_NOTICE_AFTER_HOURS", 48)
# Pickup in store: remind the customer once when a pickup has waited this many days (0: off).
OMS_PICKUP_REMINDER_DAYS = env_int("OMS_PICKUP_REMINDER_DAYS", 3)
# Subscriptions: hours after a declined payment to try again, one entry per retry (then the
# subscription pauses); the payment step (see orders.subscriptions.payments).
OMS_SUBSCRIPTION_PAYMENT_RETRY_HOURS = (24, 72)
OMS_SUBSCRIPTION_PAYMENT_GATEWAY = "orders.subscriptions.payments.RecordedPaymentGateway"
# Webhooks: seconds before a receiver's answer times out; whether loopback/private addresses
# (and the OMS's own hosts) may receive webhooks (tests and closed networks only).
OMS_WEBHOOK_TIMEOUT_SECONDS = env_int("OMS_WEBHOOK_TIMEOUT_SECONDS", 10)
OMS_WEBHOOK_ALLOW_INTERNAL_URLS = env_bool("OMS_WEBHOOK_ALLOW_INTERNAL_URLS", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
