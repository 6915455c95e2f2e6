"""The data protection officer's overview: aggregate, disclosure-controlled, admins only."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import time_machine

from incidents import services
from incidents.extensions import db
from incidents.models import AftercareStep, Channel, IncidentType, Role
from incidents.services import ReportData
from tests.conftest import login

NOW = datetime(2027, 1, 20, 9, 0, tzinfo=UTC)  # 2026 is published


def test_the_overview_counts_views_holds_records_and_measures(app, make_user, make_team):
    boss = make_user(Role.MANAGER, name="Boss")
    team = make_team("Income", manager=boss)
    victim = make_user(name="Victim Person", team=team)
    with time_machine.travel(NOW, tick=False):
        incidents = [
            services.save_report(
                victim,
                f"dpo-token-{n:04d}-padding",
                ReportData(
                    occurred_at=datetime(2025, 6, 1 + n, tzinfo=UTC),
                    channel=Channel.COUNTER,
                    types=[IncidentType.THREAT],
                    description="Private words",
                    affected_ids=[victim.id],
                ),
                submit=True,
            )
            for n in range(7)
        ]
        manager = login(app.test_client(), boss)
        for incident in incidents:
            manager.get(f"/incidents/{incident.id}")
        ban = db.session.scalars(
            db.select(AftercareStep).where(AftercareStep.kind == "perpetrator_response")
        ).all()
        for step in ban[:6]:
            manager.post(
                f"/aftercare/steps/{step.id}",
                data={
                    "outcomes": "building_ban",
                    "end_date": "2027-12-01",
                    "citizen_heard": "y",
                    "attempts": "0",
                },
            )
        hr = login(app.test_client(), make_user(Role.HR, name="Hilde HR"))
        for query in ("", "?by=channel", "?by=team"):
            hr.get(f"/hr/statistics{query}")
        hr.get("/hr/statistics.csv?table=nothing")  # a 404 is no request for figures
        admin = login(app.test_client(), make_user(Role.ADMIN))
        page = admin.get("/admin/privacy?year=2026")
        bad = admin.get("/admin/privacy?year=abc")
    assert page.status_code == 200 and bad.status_code == 200
    with time_machine.travel(NOW, tick=False):
        this_year = admin.get("/admin/privacy?year=2027").text
    # 2027 has not ended: only the statistics requests so far (three pages viewed), exactly.
    assert "2027 is nog niet voorbij" in this_year
    requests = this_year[this_year.index('id="t-requests"') :]
    assert re.search(r'<th scope="row">Hilde HR</th><td class="num">3</td>', requests)
    text = page.text
    assert "Private words" not in text and "Victim Person" not in text
    assert "Hilde HR" not in text  # no requests in 2026
    tables = text[text.index("</section>") :]
    figures = re.findall(r'<td class="num"[^>]*>([^<]*)</td>', tables)
    assert figures
    allowed = ("&lt; 5", "*", "\u2013")
    assert all(f in allowed or f.startswith("\u2265") or int(f) % 5 == 0 for f in figures), figures
    assert ">0<" not in tables  # zero is not told apart from 1..4
    bans = text[text.index("Toegangsverboden") :]
    assert re.search(
        r'<th scope="row">Actief</th><td class="num">5</td>', bans
    )  # 6 bans, shown as 5


def test_only_admins_see_the_overview(login_as):
    for role in (Role.EMPLOYEE, Role.MANAGER, Role.HR):
        assert login_as(role).get("/admin/privacy").status_code == 403
