"""Django settings of the office workplace, read from the environment that ``boot`` sets.

Nothing here creates files: importing it (mypy's Django plugin does) is harmless.
"""

from __future__ import annotations

import os
from pathlib import Path

import django_stubs_ext
from django.utils.translation import gettext_lazy as _

from agent.office.web.command_flags import env_number
from agent.office.web.databases import django_database

django_stubs_ext.monkeypatch()  # ModelForm[Unit] and the like at run time, as django-stubs says

HERE = Path(__file__).resolve().parent
STATE = Path(os.environ.get("GATE_OFFICE_WEB_STATE", "var/office-web"))


def _secret(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:  # boot makes it; only tools that never serve (mypy) get here
        return ""


SECRET_KEY = _secret(STATE / "secret.key")
DEBUG = False
ALLOWED_HOSTS = os.environ.get("GATE_OFFICE_WEB_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("GATE_OFFICE_WEB_ORIGINS", "").split(",") if o]

# behind a reverse proxy that terminates TLS (docs/office.md); with TLS the cookies are secure
if os.environ.get("GATE_OFFICE_WEB_PROXY") == "1":
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = os.environ.get("GATE_OFFICE_WEB_TLS") == "1"
SESSION_COOKIE_AGE = 8 * 3600  # one shift
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "agent.office.web.staff",
    "agent.office.web.register",
    "agent.office.web.audit",
    "agent.office.web.guards",
    "agent.office.web.visitors",
    "agent.office.web.fleet",
    "agent.office.web.cards",
    "agent.office.web.cases",
    "agent.office.web.plans",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "agent.office.web.staff.language.StaffLanguageMiddleware",
    "agent.office.web.staff.duties.StaffDutiesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "agent.office.web.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [HERE / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
ASGI_APPLICATION = "agent.office.web.asgi.application"

DATABASES = {"default": django_database(os.environ.get("GATE_OFFICE_WEB_DATABASE", "office.db"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# the gates' event store (agent.office.db), opened by agent.office.web.events when a page needs it
GATE_OFFICE_EVENTS_DB = os.environ.get("GATE_OFFICE_EVENTS_DB", "")
# visitor passes: the office's signing key (web serve --key), the broker to reach gates
# (web serve --office-config: the office.toml of `gate-office serve`)
GATE_OFFICE_PASS_KEY = os.environ.get("GATE_OFFICE_WEB_PASS_KEY", "")
GATE_OFFICE_CONFIG = os.environ.get("GATE_OFFICE_WEB_OFFICE_CONFIG", "")
# ID and phone numbers are sealed with this key; it never lives in the database
GATE_OFFICE_FIELD_KEY_FILE = os.environ.get("GATE_OFFICE_WEB_FIELD_KEY", str(STATE / "field.key"))
# personal data of residents who moved out is erased this many months later (web purge)
GATE_OFFICE_RETENTION_MONTHS = env_number("RETENTION_MONTHS", "12")
# what the desk wrote of a visitor is erased this many days after the pass ended (web purge)
GATE_OFFICE_VISITOR_RETENTION_DAYS = env_number("VISITOR_RETENTION_DAYS", "90")

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["agent.office.web.staff.lockout.LockoutBackend"]
# lockout is per account: this many failed sign-ins lock that one account for this long
GATE_OFFICE_LOCKOUT_FAILURES = 5
GATE_OFFICE_LOCKOUT_SECONDS = 15 * 60
# GATE_OFFICE_WEB_MANAGER_TOTP=1: managers must enrol a second factor before anything else
GATE_OFFICE_MANAGER_TOTP = os.environ.get("GATE_OFFICE_WEB_MANAGER_TOTP") == "1"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = os.environ.get("GATE_OFFICE_WEB_LANGUAGE", "zh-hans")  # the site's default
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [Path(os.environ.get("GATE_OFFICE_WEB_LOCALE", str(STATE / "locale")))]
USE_I18N = True
USE_TZ = True
TIME_ZONE = os.environ.get("GATE_OFFICE_WEB_TIMEZONE", "Asia/Shanghai")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django": {"handlers": ["console"], "level": "WARNING"}},
}

# cards (agent.office.web.cards): the site key gates hash card numbers with (hex file), the
# desk reader ("wedge": a keyboard-wedge reader types into the card field; "sim": a
# simulated reader with tap buttons), the site whose gates get the cards ("" = every gate
# the office store knows) and the minutes a delivery may stay pending before it alerts
GATE_OFFICE_SITE_KEY_FILE = os.environ.get("GATE_OFFICE_WEB_SITE_KEY", "")
GATE_OFFICE_DESK_READER = os.environ.get("GATE_OFFICE_WEB_DESK_READER", "wedge")
# the site master key of secure cards (docs/secure-cards.md): the sim desk reader makes them
GATE_OFFICE_SITE_MASTER_KEY_FILE = os.environ.get("GATE_OFFICE_WEB_SITE_MASTER_KEY", "")
GATE_OFFICE_DESK_READER_WAIT_S = 10.0  # "nfc:PATH" (an nfcpy reader): how long a read waits
GATE_OFFICE_CARDS_SITE = os.environ.get("GATE_OFFICE_SITE", "")
GATE_OFFICE_CARDS_ALERT_MINUTES = env_number("CARDS_ALERT_MINUTES", "10", float)

# cases (issue 19): working days to the due time per kind; the site's holidays as ISO dates
GATE_OFFICE_CASE_DUE_DAYS = {
    "complaint": env_number("COMPLAINT_DAYS", "3"),
    "behaviour": 5,
    "incident": 1,
}
GATE_OFFICE_HOLIDAYS = os.environ.get("GATE_OFFICE_WEB_HOLIDAYS", "")
GATE_OFFICE_CASE_ATTACHMENT_BYTES = env_number("ATTACHMENT_BYTES", "5000000")
# the police report of a behaviour case (PDF): a font with Chinese (Debian's fonts-noto-cjk)
# and which font of the collection (2: Simplified Chinese in NotoSansCJK-Regular.ttc)
GATE_OFFICE_PDF_FONT = os.environ.get(
    "GATE_OFFICE_WEB_PDF_FONT", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
)
GATE_OFFICE_PDF_FONT_NUMBER = env_number("PDF_FONT_NUMBER", "2")
