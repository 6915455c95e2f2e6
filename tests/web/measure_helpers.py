"""Shared pieces of the tests of the measures register: an organisation (`staff`), a frozen
clock (`march_10`), an incident with a known perpetrator, and measures proposed and approved
through the services. The fixtures are made available to tests/web by tests/web/conftest.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine

from incidents import services
from incidents.extensions import db
from incidents.models import Channel, Incident, IncidentType, Measure, PerpetratorKnown, Role
from incidents.services import ReportData, measures

# Tuesday 10 March 2026, 10:00 in Amsterdam.
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
TODAY = date(2026, 3, 10)
REASON = "Bedreigde een medewerker aan de balie met geweld."


@pytest.fixture
def march_10():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def staff(make_user, make_team):
    """Two teams under one department; Boss manages Income (Deputy stands in), Boss2 manages
    Enforcement; a security officer; a front-office employee; HR and an admin."""
    head = make_user(Role.MANAGER, name="Head")
    department = make_team("Department", manager=head)
    boss, boss2, deputy = (make_user(Role.MANAGER, name=n) for n in ("Boss", "Boss2", "Deputy"))
    income = make_team("Income", parent=department, manager=boss, deputy=deputy)
    enforcement = make_team("Enforcement", parent=department, manager=boss2)
    officer = make_user(name="Officer", team=enforcement)
    officer.security_officer = True
    counter = make_user(name="Counter", team=income)
    counter.front_office = True
    db.session.commit()
    return {
        "head": head,
        "boss": boss,
        "boss2": boss2,
        "deputy": deputy,
        "officer": officer,
        "counter": counter,
        "victim": make_user(name="Victim", team=income),
        "witness": make_user(name="Witness", team=enforcement),
        "hr": make_user(Role.HR, name="HR"),
        "admin": make_user(Role.ADMIN, name="Admin"),
        "income": income,
        "enforcement": enforcement,
    }


_tokens = iter(range(1, 1_000_000))


def submit(
    org, *, perpetrator: str = "Jan Jansen", reference: str = "K-1001", **facts: Any
) -> Incident:
    """A level-3 incident (physical violence) against Victim, with a known perpetrator."""
    facts.setdefault("types", [IncidentType.PHYSICAL])
    return services.save_report(
        org["victim"],
        f"token-measure-{next(_tokens)}",
        ReportData(
            occurred_at=datetime.now(UTC) - timedelta(minutes=30),
            channel=Channel.COUNTER,
            description="It happened.",
            affected_ids=[org["victim"].id],
            witness_ids=[org["witness"].id],
            perpetrator_known=PerpetratorKnown.KNOWN,
            perpetrator_name=perpetrator,
            perpetrator_reference=reference,
            **facts,
        ),
        submit=True,
    )


def propose(
    org,
    incident: Incident,
    *,
    kind: str = "two_colleagues",
    by: str = "boss",
    days: int = 90,
    starts_on: date | None = None,
    **values: Any,
) -> Measure:
    start = starts_on or measures.today()
    return measures.propose(
        org[by],
        measures.Proposal(
            kind=kind,
            citizen_name=values.pop("citizen_name", incident.perpetrator_name),
            citizen_reference=values.pop("citizen_reference", incident.perpetrator_reference),
            reason=values.pop("reason", REASON),
            starts_on=start,
            ends_on=start + timedelta(days=days - 1),
            incident_numbers=[incident.number or ""],
            **values,
        ),
    )


def approve(org, measure: Measure, by: str = "officer") -> Measure:
    db.session.refresh(measure)
    return measures.approve(org[by], measure.id, measure.revision)


def in_force(org, incident: Incident | None = None, **values: Any) -> Measure:
    """A measure proposed by Boss and approved by the security officer, in force today."""
    measure = propose(org, incident or submit(org), **values)
    return approve(org, measure)
