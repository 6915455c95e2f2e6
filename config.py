"""Configuration classes.

`create_app` takes one of these (by class or by name: "development", "test", "production"),
then overrides any setting from environment variables prefixed with ``INCIDENTS_``
(for example ``INCIDENTS_ORG_TIMEZONE=Europe/Brussels``). Nothing is read at import time.
"""

from __future__ import annotations

import os
from datetime import timedelta


class Config:
    """Development and demo: SQLite in the instance folder, demo data allowed."""

    DEMO = True
    SECRET_KEY: str | None = None  # development: generated once into the instance folder
    SQLALCHEMY_DATABASE_URI: str | None = None  # default: sqlite in the instance folder
    # No pool_pre_ping: `incidents.liveness` checks a pooled PostgreSQL connection without a
    # round trip (SQLite's file cannot go away).
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, object] = {}

    # Languages and time: Dutch by default, dates shown in the organisation's time zone.
    LANGUAGES = ("nl", "en")
    BABEL_DEFAULT_LOCALE = "nl"
    # The time zone of dates, deadlines and statistics. None: the protocol's [calendar]
    # timezone, which is the one source; a value that differs from it stops the start.
    ORG_TIMEZONE: str | None = None
    # The employer as a police report names it: the organisation reports on the employee's
    # behalf with its own postal address ("domicilie", VPT), so the employee's home address
    # is never in the report. ORG_ADDRESS may hold several lines (street, postcode and town).
    ORG_NAME = "Gemeente"
    ORG_ADDRESS = ""

    # Sessions and cookies.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # A session ends after 30 idle minutes, and after 12 hours whatever happens (checked on
    # the server, see incidents/services/sessions.py). The cookie itself lasts as long as the
    # browser runs; its signature is refused after PERMANENT_SESSION_LIFETIME.
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    SESSION_IDLE_MINUTES = 30
    SESSION_MAX_HOURS = 12

    # Forms: no request body over 256 kB, except the CSV upload (2 MB, on its own route).
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    MAX_CONTENT_LENGTH = 256 * 1024
    # A report names at most this many colleagues (affected and witnesses together).
    MAX_COLLEAGUES_PER_REPORT = 50

    # Failed logins get growing delays, never a lock. The counts live in the database
    # (login_throttle), so every worker and server shares them without Redis. Three counts:
    # - one account from one address: after LOGIN_DELAY_AFTER_FAILURES failures the next
    #   attempt waits LOGIN_DELAY_BASE_SECONDS, doubling with every further failure, up to
    #   LOGIN_DELAY_MAX_SECONDS_PAIR;
    # - one account from all addresses together: the same after
    #   LOGIN_ACCOUNT_FAILURES_BEFORE_DELAY failures but up to LOGIN_DELAY_MAX_SECONDS_ACCOUNT
    #   only, so an attacker elsewhere can keep the real user out for that long at most;
    # - one address across accounts (password spraying): after
    #   LOGIN_ADDRESS_FAILURES_BEFORE_DELAY failures, up to LOGIN_DELAY_MAX_SECONDS_ADDRESS.
    #   Each account adds at most LOGIN_DELAY_AFTER_FAILURES to it, so one person behind an
    #   office's proxy does not slow the whole office.
    # While a delay runs the login answers 429 without checking the password. A successful
    # login clears its account's counts (not the address's); a count is forgotten
    # LOGIN_FAILURES_FORGOTTEN_AFTER_MINUTES after its last failure.
    LOGIN_DELAY_AFTER_FAILURES = 3
    LOGIN_DELAY_BASE_SECONDS = 1
    LOGIN_DELAY_MAX_SECONDS_PAIR = 900
    LOGIN_ACCOUNT_FAILURES_BEFORE_DELAY = 10
    LOGIN_DELAY_MAX_SECONDS_ACCOUNT = 60
    LOGIN_ADDRESS_FAILURES_BEFORE_DELAY = 100
    LOGIN_DELAY_MAX_SECONDS_ADDRESS = 300
    LOGIN_FAILURES_FORGOTTEN_AFTER_MINUTES = 60

    # Besides the delays, a coarse cap (Flask-Limiter syntax) on the passwords checked and
    # found wrong per client address, against floods of argon2 work; attempts refused during
    # a delay do not count. The counts live in RATELIMIT_STORAGE_URI. "memory://" is one
    # process's memory: right for one worker, but every further worker or server would count
    # on its own. More than one needs one shared store, redis://HOST:6379 (the redis client
    # comes with flask-limiter[redis]; gunicorn.conf.py refuses to start production workers
    # without it). Servers of different apps sharing one Redis: give each its own
    # RATELIMIT_KEY_PREFIX.
    RATELIMIT_STORAGE_URI = "memory://"
    # Redis gone or hanging: after 2 s each worker counts in its own memory until Redis is back
    # (Flask-Limiter checks again with growing pauses), so logging in keeps working and limited.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_STORAGE_OPTIONS: dict[str, object] = {
        "socket_connect_timeout": 2,
        "socket_timeout": 2,
    }
    RATELIMIT_HEADERS_ENABLED = False
    LOGIN_LIMIT_PER_ADDRESS = "300 per 15 minutes"

    # Single sign-on with OpenID Connect: set the issuer (discovery at
    # <issuer>/.well-known/openid-configuration), the client id and secret, and the name on the
    # button. The redirect URI to register at the provider is <BASE_URL>/login/oidc/callback.
    # A user is matched by OIDC_EMAIL_CLAIM to an existing, active account; with
    # OIDC_CREATE_USERS an unknown one becomes an employee without a team.
    OIDC_ISSUER: str | None = None
    OIDC_CLIENT_ID: str | None = None
    OIDC_CLIENT_SECRET: str | None = None
    OIDC_NAME = ""
    OIDC_EMAIL_CLAIM = "email"
    OIDC_SCOPES = "openid email profile"
    OIDC_CREATE_USERS = False
    # False: only single sign-on, and the password of break-glass admin accounts.
    PASSWORD_LOGIN = True
    # Password accounts of these roles must use two-factor sign-in (TOTP); others may. The
    # demo (DEMO, the development config) and the tests require it of nobody: their accounts
    # share a published password anyway. Production requires it of admin, HR and managers.
    TWO_FACTOR_ROLES: tuple[str, ...] = ()
    TOTP_ISSUER = "Agressie-incidenten"
    # The HR system's CSV export: which header holds each field of the import.
    IMPORT_COLUMNS: dict[str, str] = {
        "employee_number": "employee_number",
        "email": "email",
        "name": "name",
        "team_code": "team_code",
        "team_name": "team_name",
        "parent_team_code": "parent_team_code",
        "manager_employee_number": "manager_employee_number",
    }

    # The aftercare protocol (severity rules, steps, deadlines); None: incidents/protocol.toml.
    PROTOCOL_FILE: str | None = None

    # Privacy: personal data of an incident is removed this long after its aftercare closed.
    RETENTION_YEARS = 5

    # Statistics: no figure shows a group smaller than this; every count is rounded to it.
    STATS_MIN_CELL = 5
    # A month's statistics are published (and frozen) this many days after it ended.
    STATS_PUBLISH_DELAY_DAYS = 7

    # E-mail. Without MAIL_SERVER, demo mode writes mails to the log instead of sending them.
    MAIL_SERVER = ""
    MAIL_PORT = 25
    MAIL_USE_STARTTLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME = ""
    MAIL_PASSWORD = ""
    MAIL_SENDER = "nazorg@localhost"
    MAIL_TIMEOUT = 10
    # A mail refused for good (5xx) or failing this many times is marked failed, not retried.
    MAIL_MAX_ATTEMPTS = 10
    # A run claims mails for this long before sending them; a crashed run's claims expire.
    MAIL_LEASE_MINUTES = 15
    # Links in mails and the calendar feed start with this address.
    BASE_URL = "http://127.0.0.1:5000"
    # Reminders: an overdue step goes to the owner's own manager after this many days.
    ESCALATE_AFTER_DAYS = 3
    DRAFT_REMINDER_HOURS = 24
    # A corrective action that was done is reviewed (did it work?) this many months later.
    ACTION_REVIEW_MONTHS = 3
    # A recorded step may be corrected by its owner, or by the manager who recorded it, for
    # this many days after it was recorded (the reason and the earlier values are kept).
    STEP_CORRECTION_DAYS = 30

    # Alarm buttons: the provider posts each event to /api/alarms, signed with HMAC-SHA256.
    # More than one secret may be valid at once while one is rotated: a list, or from the
    # environment INCIDENTS_ALARM_WEBHOOK_SECRET='["new", "old"]' (one secret: a plain string).
    # Empty: every event is refused. The signed timestamp may differ this much from our clock.
    ALARM_WEBHOOK_SECRET: list[str] | str = []
    ALARM_MAX_AGE_SECONDS = 300
    ALARM_MAX_BYTES = 16 * 1024

    # Evidence: files on an incident. Where their bytes are kept: "" a folder under the instance
    # path (never served directly), "file:///an/absolute/path", or an S3-compatible store for
    # more than one server, "s3://bucket/prefix?endpoint_url=https://...&region=..." (with the
    # usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). At most this many files per incident,
    # each at most this large.
    EVIDENCE_STORAGE = ""
    EVIDENCE_MAX_FILES = 10
    EVIDENCE_MAX_BYTES = 15 * 1024 * 1024

    # A link to set a password (sent by an admin, or to a new account) works once, this long.
    PASSWORD_RESET_HOURS = 48

    # Passwords: argon2id, RFC 9106 low-memory profile (argon2-cffi's default).
    PASSWORD_MIN_LENGTH = 12
    ARGON2_PROFILE = "RFC_9106_LOW_MEMORY"

    # A database that does not answer: 503, and the client may try again after this long.
    RETRY_AFTER_SECONDS = 30

    # Behind a reverse proxy: how many proxies set X-Forwarded-For / -Proto (0: none).
    PROXY_FIX_X_FOR = 0
    PROXY_FIX_X_PROTO = 0


class TestConfig(Config):
    """Tests: a throwaway database chosen by the test session, cheap hashing."""

    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
    ARGON2_PROFILE = "CHEAPEST"
    SERVER_NAME = None


class ProductionConfig(Config):
    """Production: PostgreSQL from DATABASE_URL, SECRET_KEY from the environment, no demo data."""

    DEMO = False
    TWO_FACTOR_ROLES = ("admin", "hr", "manager")
    SESSION_COOKIE_SECURE = True
    # The __Host- prefix: browsers keep this cookie only when it is Secure, for Path=/ and
    # without a Domain, so no subdomain or other site on the network can set or replace it.
    SESSION_COOKIE_NAME = "__Host-session"
    SESSION_COOKIE_PATH = "/"
    SESSION_COOKIE_DOMAIN: str | None = None
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"

    def __init__(self) -> None:
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or None
        url = os.environ.get("DATABASE_URL") or None
        if url and url.startswith("postgres://"):
            url = "postgresql://" + url.removeprefix("postgres://")
        if url and url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        self.SQLALCHEMY_DATABASE_URI = url
        for name in ("MAIL_SERVER", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_SENDER", "BASE_URL"):
            if os.environ.get(name):
                setattr(self, name, os.environ[name])
        if os.environ.get("RATELIMIT_STORAGE_URI"):
            self.RATELIMIT_STORAGE_URI = os.environ["RATELIMIT_STORAGE_URI"]


CONFIGS: dict[str, type[Config]] = {
    "development": Config,
    "test": TestConfig,
    "production": ProductionConfig,
}
