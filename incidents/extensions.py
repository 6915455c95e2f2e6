"""Flask extensions, created without an app and bound in `create_app`."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from incidents import rules


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so migrations name constraints stably."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def _render_type(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Autogenerate writes our UTC column type as the plain type it stores, so revisions
    do not import application code."""
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


class _MigrationCommands(click.Group):
    """`flask db ...`: Flask-Migrate's command group, imported when one of them runs."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        from flask_migrate.cli import db as commands

        return commands.make_context(*args, **kwargs)


class _MigrateSettings:
    """`app.extensions["migrate"]`, where Flask-Migrate's functions (`upgrade` ...) and
    migrations/env.py look: the real settings, made at the first look."""

    def __init__(self, database: SQLAlchemy, directory: str) -> None:
        self._database = database
        self._directory = directory
        self._settings: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._settings is None:
            from flask_migrate import Migrate

            holder = Flask(__name__)  # init_app's public way to make the settings
            migrate = Migrate(render_as_batch=True, compare_type=True, render_item=_render_type)
            migrate.init_app(holder, self._database, self._directory)
            self._settings = holder.extensions["migrate"]
        return getattr(self._settings, name)


def init_migrations(app: Flask, database: SQLAlchemy, directory: str) -> None:
    """Flask-Migrate for `app`, loaded when a migration runs: Alembic and Flask-Migrate take
    11 MiB that a worker serving pages never needs."""
    app.extensions["migrate"] = _MigrateSettings(database, directory)
    app.cli.add_command(_MigrationCommands("db", help="Perform database migrations."))


db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
# Sessions are checked on the server (incidents/services/sessions.py), where each one keeps its
# address and browser for the user to see; Flask-Login's own protection would only add a hash
# of both to the cookie, which anyone holding the cookie can read.
login_manager.session_protection = None
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)


def current_protocol() -> rules.Protocol:
    """The organisation's protocol, loaded and validated when the app was created."""
    loaded: rules.Protocol = current_app.extensions["protocol"]
    return loaded


def org_zone() -> ZoneInfo:
    """The organisation's time zone: the protocol's calendar, where deadlines are counted."""
    return ZoneInfo(current_protocol().calendar.timezone)
