"""Pure tests of model logic: no app, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite

from incidents.models import Role, Team, User, UTCDateTime


def manager(name: str, active: bool = True) -> User:
    return User(name=name, email=f"{name}@example.test", role=Role.MANAGER, active=active)


def test_the_manager_above_is_the_manager_of_the_nearest_parent_that_has_one():
    head = manager("head")
    department = Team(id=1, name_nl="Afdeling", name_en="Department", manager=head)
    cluster = Team(id=2, name_nl="Cluster", name_en="Cluster", parent=department)
    team = Team(id=3, name_nl="Team", name_en="Team", parent=cluster, manager=manager("boss"))
    assert team.manager_above() is head
    assert cluster.manager_above() is head
    assert department.manager_above() is None


def test_an_inactive_manager_above_is_skipped():
    top = Team(id=1, name_nl="Top", name_en="Top", manager=manager("top"))
    middle = Team(id=2, name_nl="M", name_en="M", parent=top, manager=manager("gone", active=False))
    team = Team(id=3, name_nl="T", name_en="T", parent=middle)
    above = team.manager_above()
    assert above is not None and above.name == "top"


def test_team_names_follow_the_language_with_a_fallback():
    team = Team(name_nl="Inkomen", name_en="Income")
    assert (team.name("nl"), team.name("en")) == ("Inkomen", "Income")
    assert Team(name_nl="Inkomen", name_en="").name("en") == "Inkomen"


def test_ancestors_stop_at_a_cycle():
    a = Team(id=1, name_nl="A", name_en="A")
    b = Team(id=2, name_nl="B", name_en="B", parent=a)
    a.parent = b
    assert a.ancestors() == [b, a]


def test_utc_datetime_stores_utc_and_refuses_naive_moments():
    column, dialect = UTCDateTime(), sqlite.dialect()
    amsterdam = timezone(timedelta(hours=1))
    stored = column.process_bind_param(datetime(2026, 1, 1, 12, tzinfo=amsterdam), dialect)
    assert stored == datetime(2026, 1, 1, 11, tzinfo=UTC) and stored.tzinfo == UTC
    read = column.process_result_value(datetime(2026, 1, 1, 11), dialect)
    assert read is not None and read.tzinfo == UTC
    with pytest.raises(ValueError, match="naive"):
        column.process_bind_param(datetime(2026, 1, 1, 12), dialect)


def test_the_datetime_filter_writes_the_one_pattern_of_each_language():
    """`datetimeformat` (one strftime call) writes what Babel writes for the one pattern of
    each language, "dd-MM-yyyy HH:mm" and "dd/MM/yyyy HH:mm", in the organisation's zone (also
    across the changes to and from summer time)."""
    from datetime import UTC, datetime, timedelta

    from flask_babel import format_datetime, refresh

    from incidents import create_app
    from incidents.i18n import format_moment

    app = create_app("test")
    moments = [
        datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=37 * n, minutes=611 * n, seconds=n)
        for n in range(12)
    ] + [datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC), datetime(2026, 10, 25, 1, 0, tzinfo=UTC)]
    patterns = {"nl": "dd-MM-yyyy HH:mm", "en": "dd/MM/yyyy HH:mm"}
    shown = {}
    for locale in ("nl", "en"):
        with app.test_request_context():
            from flask import session

            session["locale"] = locale
            refresh()
            for moment in moments:
                for name in ("short", "medium", "long"):
                    assert format_moment(moment, name) == format_datetime(moment, patterns[locale])
            assert format_moment(None) == ""
            shown[locale] = format_moment(moments[3], "medium")
    assert shown["nl"] != shown["en"]  # both languages were tried
