"""Lists that stack on a phone: every cell of a stacking table names its column, and "My
incidents" says your part in words ("Reported by you; affected")."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from incidents import services
from incidents.extensions import db
from incidents.models import Channel, IncidentType, PerpetratorKnown, Role, User
from incidents.services import ReportData
from tests.conftest import login

NOW = datetime.now(UTC)


def report(reporter, token, affected, witnesses=()):
    return services.save_report(
        reporter,
        token,
        ReportData(
            occurred_at=NOW - timedelta(hours=1),
            channel=Channel.COUNTER,
            types=[IncidentType.VERBAL],
            description="Schelden aan de balie",
            affected_ids=[p.id for p in affected],
            witness_ids=[p.id for p in witnesses],
            perpetrator_known=PerpetratorKnown.UNKNOWN,
        ),
        submit=True,
    )


def stacked_cells(html: str) -> list[str]:
    """Every body cell of the tables that stack on a phone."""
    found = []
    for table in re.findall(r'<table class="(?:stack|steps)">(.*?)</table>', html, re.S):
        body = table.split("<tbody>", 1)[1]
        found += re.findall(r"<t[dh][\s>][^>]*>?", body)
    return found


@pytest.fixture
def people(make_user, make_team):
    boss = make_user(Role.MANAGER, name="Boss")
    team = make_team("Income", manager=boss)
    return {
        "me": make_user(name="Me", team=team),
        "colleague": make_user(name="Colleague", team=team),
        "boss": boss,
    }


def my_parts(app, me, locale):
    with services.transaction():
        account = db.session.get(User, me.id)
        assert account is not None
        account.locale = locale
    page = login(app.test_client(), me).get("/incidents").text
    return {
        " ".join(p.split())
        for p in re.findall(r'data-label="(?:Your part|Uw rol)">(.*?)</td>', page, re.S)
    }


def test_my_part_reads_as_words_in_both_languages(app, people):
    me, colleague = people["me"], people["colleague"]
    report(me, "tables-0001", [me])  # reported by me, affecting me
    report(colleague, "tables-0002", [colleague], witnesses=[me])  # I was a witness
    report(me, "tables-0003", [colleague])  # reported by me for someone else
    assert my_parts(app, me, "en") == {
        "Reported by you; affected",
        "Witness",
        "Reported by you",
    }
    with app.test_request_context(), force_locale("nl"):
        separator = _("%(earlier)s; %(next)s", earlier="Door u gemeld", next="getroffen")
    dutch = my_parts(app, me, "nl")
    assert dutch == {separator, "Getuige", "Door u gemeld"}
    assert all(" ," not in part for part in dutch)


def test_a_part_reported_for_you_says_so(app, people):
    me, colleague = people["me"], people["colleague"]
    report(colleague, "tables-0004", [me, colleague])
    (part,) = my_parts(app, me, "en")
    assert part == "Affected · reported for you"


@pytest.mark.parametrize(
    "path",
    [
        "/admin/users",
        "/admin/teams",
        "/admin/locations",
        "/admin/audit",
        "/admin/legal-holds",
        "/admin/mail",
        "/admin/scim",
        "/admin/alarms",
    ],
)
def test_every_cell_of_an_admin_list_names_its_column(app, make_user, make_team, path):
    admin = make_user(Role.ADMIN)
    make_team("Income", manager=make_user(Role.MANAGER))
    page = login(app.test_client(), admin).get(path)
    assert page.status_code == 200
    cells = stacked_cells(page.text)
    headers = re.findall(r'<table class="stack">.*?<thead>(.*?)</thead>', page.text, re.S)
    if path in ("/admin/users", "/admin/teams", "/admin/audit"):
        assert cells, "a list with rows"
    for cell in cells:
        label = re.search(r'data-label="([^"]+)"', cell)
        assert label is not None, cell
        assert any(label.group(1) in h for h in headers), label.group(1)


def test_my_incidents_and_the_inbox_stack(app, people):
    me = people["me"]
    report(me, "tables-0005", [me])
    mine = login(app.test_client(), me).get("/incidents").text
    assert '<table class="stack">' in mine
    assert all('data-label="' in cell for cell in stacked_cells(mine))
    inbox = login(app.test_client(), people["boss"]).get("/aftercare").text
    cells = stacked_cells(inbox)
    assert cells and all('data-label="' in cell for cell in cells)
