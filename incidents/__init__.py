"""incidents: register aggression incidents and run the aftercare protocol."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import CONFIGS, Config


def create_app(config: str | type[Config] | Config | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints and CLI."""
    root = Path(__file__).resolve().parent.parent
    app = Flask(
        __name__,
        template_folder=str(root / "templates"),
        instance_path=os.environ.get("INCIDENTS_INSTANCE_PATH") or str(root / "instance"),
    )
    if config is None:
        config = os.environ.get("INCIDENTS_CONFIG", "development")
    if isinstance(config, str):
        if config not in CONFIGS:
            sys.exit(f"incidents: unknown configuration {config!r}; use one of {sorted(CONFIGS)}")
        config = CONFIGS[config]
    app.config.from_object(config() if isinstance(config, type) else config)
    app.config.from_prefixed_env("INCIDENTS")
    _finish_config(app)

    from incidents import i18n, passwords, security
    from incidents.extensions import babel, csrf, db, init_migrations, limiter, login_manager

    db.init_app(app)
    _init_database(app)
    init_migrations(app, db, str(root / "migrations"))
    security.init_app(app)  # first: the access guard runs before any other request hook
    passwords.init_app(app)  # the login's dummy hash, with the configured parameters
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    babel.init_app(
        app,
        locale_selector=i18n.select_locale,
        timezone_selector=i18n.select_timezone,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    i18n.init_app(app)

    from incidents.auth import oidc_client

    oidc_client.init_app(app)  # single sign-on: settings checked; its client made at first use

    from incidents import (
        actions,
        admin,
        aftercare,
        auth,
        errors,
        hr,
        learning,
        main,
        measures,
        reporting,
    )

    app.register_blueprint(auth.bp)
    app.register_blueprint(main.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(reporting.bp)
    app.register_blueprint(aftercare.bp)
    app.register_blueprint(hr.bp)
    app.register_blueprint(measures.bp)
    app.register_blueprint(learning.bp)
    app.register_blueprint(actions.bp)
    from incidents import scim

    app.register_blueprint(scim.bp)
    csrf.exempt(scim.bp)  # a bearer token, no cookie: nothing for a forged request to ride on
    from incidents import api

    app.register_blueprint(api.bp)
    csrf.exempt(api.views.alarms_webhook)  # signed by the provider: no cookie is ever used
    errors.init_app(app)

    from incidents import cli

    cli.init_app(app)
    return app


def _init_database(app: Flask) -> None:
    """SQLite: write-ahead logging, so readers and the one writer do not wait on each other,
    the writers of all processes in one queue (`locks`), and the month function of the
    statistics; PostgreSQL: a transaction that only read is committed, so its prepared
    statements stay (`reads`), and a pooled connection is checked mostly without a round trip
    (`liveness`); every session keeps the statistics' counts."""
    from flask_sqlalchemy.session import Session
    from sqlalchemy import event

    from incidents import liveness, locks, reads
    from incidents.extensions import db
    from incidents.services import membership
    from incidents.stats import tally

    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: object, _record: object) -> None:
            cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        app.extensions["incidents.writer_queue"] = locks.init_writer_queue(
            engine, str(engine.url.database)
        )

    reads.init_engine(engine)
    liveness.init_engine(engine)
    tally.init_engine(engine, app.config["ORG_TIMEZONE"], app.config["STATS_PUBLISH_DELAY_DAYS"])
    tally.init_session(Session)
    locks.init_session(Session)
    membership.init_session(Session)


def _finish_config(app: Flask) -> None:
    """Defaults that depend on the instance folder; refuse to run without a secret key, a
    database or the site's own address (BASE_URL)."""
    if not app.config.get("SECRET_KEY"):
        if not app.config["DEMO"]:
            sys.exit(
                "incidents: set SECRET_KEY to a long random value, e.g. from `openssl rand -hex 32`"
            )
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        if not app.config["DEMO"]:
            sys.exit("incidents: set DATABASE_URL to the PostgreSQL database to use")
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(
            Path(app.instance_path) / "incidents.db"
        )
    # Links in mails and the calendar feed start with BASE_URL, never with a request's Host.
    base = urlsplit(str(app.config.get("BASE_URL") or ""))
    if not app.config["DEMO"] and (
        app.config.get("BASE_URL") == Config.BASE_URL
        or base.scheme not in {"http", "https"}
        or not base.hostname
    ):
        sys.exit(
            "incidents: set BASE_URL to the address users open, e.g. https://nazorg.example.org"
        )
    from incidents import rules

    path = app.config.get("PROTOCOL_FILE") or rules.default_protocol_path()
    try:
        app.extensions["protocol"] = rules.load_protocol(path)
    except rules.ProtocolError as error:
        sys.exit(f"incidents: the protocol in {path} is not valid: {error}")
    zone = app.extensions["protocol"].calendar.timezone
    if app.config.get("ORG_TIMEZONE") not in (None, "", zone):
        sys.exit(
            f"incidents: ORG_TIMEZONE is {app.config['ORG_TIMEZONE']} but the protocol in {path} "
            f"counts deadlines in {zone}: remove ORG_TIMEZONE (the protocol's [calendar] "
            "timezone is used) or change one of the two so they agree"
        )
    app.config["ORG_TIMEZONE"] = zone
    x_for, x_proto = app.config["PROXY_FIX_X_FOR"], app.config["PROXY_FIX_X_PROTO"]
    if x_for or x_proto:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=x_for, x_proto=x_proto)  # type: ignore[method-assign]


def _instance_secret(instance: Path) -> str:
    """Development only: a random key made once and kept in the instance folder."""
    import secrets

    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
