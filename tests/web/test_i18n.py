"""Languages: the switch, the default, and complete Dutch and English catalogues."""

from __future__ import annotations

import subprocess
import sys

from babel.messages.pofile import read_po

from incidents.models import Role
from tests.conftest import ROOT

CATALOGUE = ROOT / "incidents" / "translations" / "nl" / "LC_MESSAGES" / "messages.po"


def test_default_language_is_dutch_and_the_user_can_switch(client):
    assert "Inloggen" in client.get("/login").text
    response = client.post("/language", data={"locale": "en", "next": "/login"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    page = client.get("/login").text
    assert "Log in" in page and '<html lang="en">' in page
    client.post("/language", data={"locale": "nl", "next": "/login"})
    assert "Inloggen" in client.get("/login").text


def test_unknown_language_and_foreign_next_are_ignored(client):
    response = client.post("/language", data={"locale": "xx", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"
    assert "Inloggen" in client.get("/login").text


def test_a_logged_in_users_choice_is_remembered(client, make_user, app):
    from incidents.extensions import db
    from tests.conftest import login

    user = make_user(Role.EMPLOYEE)
    login(client, user)
    client.post("/language", data={"locale": "en", "next": "/"})
    db.session.refresh(user)
    assert user.locale == "en"
    fresh = app.test_client()
    login(fresh, user)
    assert "Welcome" in fresh.get("/").text


def test_default_language_is_configurable(app):
    app.config["BABEL_DEFAULT_LOCALE"] = "en"
    try:
        assert "Log in" in app.test_client().get("/login").text
    finally:
        app.config["BABEL_DEFAULT_LOCALE"] = "nl"


def test_every_string_has_a_dutch_translation():
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    untranslated = [
        m.id
        for m in catalogue
        if m.id
        and not (m.string if isinstance(m.string, str) else m.string is not None and all(m.string))
    ]
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"fuzzy: {fuzzy}"


def test_the_catalogue_holds_every_marked_string(tmp_path):
    """Extract afresh: a string marked in code or templates but missing from the catalogue fails."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "--ignore-dirs=.* __pycache__ .venv instance",  # not the default ._*: templates/_macros
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "lazy_ngettext:1,2",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as handle:
        marked = {m.id for m in read_po(handle) if m.id}
    with CATALOGUE.open("rb") as handle:
        translated = {m.id for m in read_po(handle) if m.id}
    assert "Please correct the fields marked below." in marked  # templates/_macros is read
    assert not marked - translated, (
        f"missing from the Dutch catalogue: {sorted(map(str, marked - translated))}"
    )


def test_dates_are_shown_in_the_organisations_time_zone(app):
    from datetime import UTC, datetime

    from flask_babel import format_datetime

    with app.test_request_context():
        shown = format_datetime(datetime(2026, 7, 1, 10, 0, tzinfo=UTC), "HH:mm")
    assert shown == "12:00"  # Europe/Amsterdam in summer


def test_every_closed_set_has_a_label_for_each_member():
    from incidents import labels
    from incidents.models import AuditAction, Channel, IncidentType, PersonRole, Role
    from incidents.rules import Outcome, Subject

    assert set(labels.OUTCOME_LABELS) == set(Outcome)
    assert set(labels.SUBJECT_LABELS) == set(Subject)
    assert set(labels.ROLE_LABELS) == set(Role)
    assert set(labels.CHANNEL_LABELS) == set(Channel)
    assert set(labels.TYPE_LABELS) == set(IncidentType)
    assert set(labels.PERSON_ROLE_LABELS) == set(PersonRole)
    # The "My data" page names the actions on a user's own data; all of them are actions.
    assert set(labels.AUDIT_ACTION_LABELS) <= set(AuditAction)
