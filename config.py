"""Configuration classes, read from the environment (and an optional .env file)."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"

load_dotenv(BASE_DIR / ".env")


def database_url(raw: str | None) -> str:
    """Normalise a DATABASE_URL: postgres:// and postgresql:// use psycopg 3."""
    if not raw:
        return f"sqlite:///{INSTANCE_DIR / 'irritants.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def generated_secret_key() -> str:
    """A key generated once per instance folder, so that every process shares it."""
    path = INSTANCE_DIR / "secret_key"
    try:
        INSTANCE_DIR.mkdir(exist_ok=True)
        with path.open("x") as new_file:
            new_file.write(secrets.token_hex(32))
    except FileExistsError:
        pass
    except OSError:
        return secrets.token_hex(32)
    return path.read_text().strip()


class Config:
    """Development defaults: work on a fresh machine with nothing installed."""

    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY") or generated_secret_key()
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("DATABASE_URL"))
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, object] = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL") or None
    # Keep the org snapshot out of Python's full garbage collections (services/snapshot.py).
    FREEZE_ORG_SNAPSHOT = True

    # Sessions: revocable through the per-user session version (see models.User).
    SESSION_COOKIE_NAME = "irritants_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    # Idle timeout: the session cookie lives 12 hours from the last request.
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    SESSION_REFRESH_EACH_REQUEST = True
    # Absolute lifetime of a signed-in session, whatever the activity.
    SESSION_ABSOLUTE_LIFETIME = timedelta(days=7)

    WTF_CSRF_TIME_LIMIT = 8 * 3600
    MAX_CONTENT_LENGTH = 6 * 1024 * 1024
    PHOTO_MAX_BYTES = 5 * 1024 * 1024
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR") or str(INSTANCE_DIR / "uploads")

    BABEL_DEFAULT_LOCALE = "fr"
    # Times are stored in UTC and shown in the organisation's time zone.
    BABEL_DEFAULT_TIMEZONE = os.environ.get("DISPLAY_TIMEZONE", "Europe/Paris")
    LANGUAGES = ("fr", "en")
    # The language chosen by a visitor who is not signed in.
    LANGUAGE_COOKIE_NAME = "lang"
    # A what-if page over at most this many irritants waits for its result; more: a job.
    WHATIF_INLINE_LIMIT = int(os.environ.get("WHATIF_INLINE_LIMIT", "20000"))
    # Strict-Transport-Security value; only production serves it (over HTTPS).
    HSTS: str | None = None

    # Argon2id parameters (argon2-cffi RFC 9106 low-memory profile by default).
    ARGON2_TIME_COST = int(os.environ.get("ARGON2_TIME_COST", "3"))
    ARGON2_MEMORY_COST = int(os.environ.get("ARGON2_MEMORY_COST", "65536"))
    ARGON2_PARALLELISM = int(os.environ.get("ARGON2_PARALLELISM", "4"))

    API_TOKEN_LIFETIME = timedelta(days=int(os.environ.get("API_TOKEN_DAYS", "30")))
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL") or "memory://"
    # Redis down must not stop anyone signing in (reliability.md R1): the limits fall back to
    # each process's memory until Redis answers again, and a storage error never fails a
    # request. Fail fast, like the jobs' Redis client.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 2}

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "") == "1"
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "irritants@localhost")
    # Without a mail server configured, mail goes to the log (the console backend).
    MAIL_BACKEND = os.environ.get(
        "MAIL_BACKEND", "smtp" if os.environ.get("MAIL_SERVER") else "console"
    )
    MAIL_TIMEOUT = 5

    SLA_SWEEP_SECONDS = int(os.environ.get("SLA_SWEEP_SECONDS", "60"))
    RUN_INPROCESS_SCHEDULER = True
    SERVER_BASE_URL = os.environ.get("SERVER_BASE_URL", "http://127.0.0.1:5000")

    API_TITLE = "Irritants API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_REDOC_PATH = "/docs"
    OPENAPI_REDOC_URL = "/static/vendor/redoc/redoc.standalone.js"


class TestConfig(Config):
    """Fast, isolated settings for the test suite."""

    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105 - tests only
    # DATABASE_URL and its default hold in every environment (api.md); the suite's
    # TEST_DATABASE_URL comes first (tests/conftest.py uses a temporary file without it).
    SQLALCHEMY_DATABASE_URI = database_url(
        os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    )
    REDIS_URL = None
    WTF_CSRF_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = True
    # Cheap Argon2 so that the suite stays fast; production keeps the real cost.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1
    MAIL_BACKEND = "locmem"
    RUN_INPROCESS_SCHEDULER = False
    FREEZE_ORG_SNAPSHOT = False  # a full collection at every test's new org would cost minutes
    UPLOAD_DIR = os.environ.get("TEST_UPLOAD_DIR") or "/tmp/irritants-test-uploads"  # noqa: S108


class ProductionConfig(Config):
    """Production: secure cookies, HSTS, and no start without secrets."""

    ENV_NAME = "production"
    SESSION_COOKIE_NAME = "__Host-irritants_session"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_NAME = "__Host-irritants_remember"
    REMEMBER_COOKIE_SECURE = True
    LANGUAGE_COOKIE_NAME = "__Host-lang"
    HSTS = "max-age=31536000; includeSubDomains"
    PREFERRED_URL_SCHEME = "https"

    @classmethod
    def check(cls) -> None:
        """Refuse to start without an explicit SECRET_KEY."""
        if not os.environ.get("SECRET_KEY"):
            raise RuntimeError("SECRET_KEY must be set when IRRITANTS_ENV=production")


CONFIGS: dict[str, type[Config]] = {
    "development": Config,
    "test": TestConfig,
    "production": ProductionConfig,
}


def config_from_environment() -> type[Config]:
    """The config class named by IRRITANTS_ENV (development by default)."""
    name = os.environ.get("IRRITANTS_ENV", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"IRRITANTS_ENV must be one of {sorted(CONFIGS)}, not {name!r}")
    config = CONFIGS[name]
    if config is ProductionConfig:
        ProductionConfig.check()
        ProductionConfig.SECRET_KEY = os.environ["SECRET_KEY"]
    return config
