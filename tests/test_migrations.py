"""Migrations: from an empty database to head and back, on SQLite and PostgreSQL, and the
models match what the migrations build."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from incidents.extensions import db
from tests.conftest import database_url, make_app


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_app(request, tmp_path_factory):
    app = make_app(database_url(request, tmp_path_factory, "incidents_migrations"))
    with app.app_context():
        yield app
        db.engine.dispose()


def test_upgrade_from_empty_to_head_matches_the_models_and_downgrades(empty_app):
    upgrade()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"
    assert {"user", "team", "audit_event"} <= set(inspect(db.engine).get_table_names())
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
