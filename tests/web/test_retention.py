"""Retention: personal data removed five years after aftercare closed, the counts kept,
legal holds, expired perpetrator measures, the stored reports, the command and the pages."""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from incidents import services
from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    AuditEvent,
    Channel,
    Incident,
    IncidentChange,
    IncidentPerson,
    IncidentType,
    PerpetratorKnown,
    RetentionRun,
    Role,
    StepStatus,
)
from incidents.services import ReportData, retention
from incidents.services.aftercare import outcome_rules
from incidents.stats import queries, tally
from incidents.stats.periods import Period
from tests.conftest import form_errors, login

# Tuesday 10 March 2026, 10:00 in Amsterdam.
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
START, END = datetime(2015, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
SECRETS = ("Secret description", "Interview room 2", "Mrs Resident", "John Perp", "CL-123")


@pytest.fixture
def org(make_user, make_team):
    boss = make_user(Role.MANAGER, name="Boss")
    team = make_team("Income", manager=boss)
    return {
        "boss": boss,
        "victim": make_user(name="Victim", team=team),
        "witness": make_user(name="Witness", team=team),
    }


def report(org: dict[str, Any], token: str, occurred_at: datetime) -> Incident:
    """A level-3 incident with every kind of personal data filled in."""
    with time_machine.travel(occurred_at + timedelta(hours=1), tick=False):
        return services.save_report(
            org["victim"],
            f"retention-{token}-padding-token",
            ReportData(
                occurred_at=occurred_at,
                channel=Channel.INTERVIEW_ROOM,
                types=[IncidentType.PHYSICAL],
                location=SECRETS[1],
                description=SECRETS[0],
                affected_ids=[org["victim"].id],
                witness_ids=[org["witness"].id],
                outside_witnesses=SECRETS[2],
                perpetrator_known=PerpetratorKnown.KNOWN,
                perpetrator_name=SECRETS[3],
                perpetrator_reference=SECRETS[4],
            ),
            submit=True,
        )


def record(incident: Incident, *, closed_at: datetime | None, ban_until: date) -> None:
    """Every step done with a note and identifying details; the aftercare closed (or not)."""
    for step in incident.steps:
        step.status = StepStatus.DONE
        step.done_at = step.due_at
        step.note = "Private note about the conversation"
        if step.kind == "police_report":
            step.outcomes = ["filed_by_employer"]
            step.reference, step.police_outcome = "PV-1234", "Suspect fined"
        elif step.kind == "perpetrator_response":
            step.outcomes = ["building_ban"]
            step.end_date, step.citizen_heard = ban_until, True
            step.reason = "Shouted again"
        elif step.kind == "referral_decision":
            step.outcomes = ["victim_support"]
        else:
            step.outcomes = [outcome_rules(step.kind).choose[0]]
            step.held_on = step.due_at.date()
    incident.closed_at = closed_at
    db.session.commit()


@pytest.fixture
def incidents(org):
    """Closed 6 years ago; closed 4 years ago; closed 6 years ago but on hold; still open."""
    made = {
        "old": report(org, "old", datetime(2019, 6, 3, 10, tzinfo=UTC)),
        "recent": report(org, "recent", datetime(2021, 9, 1, 10, tzinfo=UTC)),
        "held": report(org, "held", datetime(2019, 7, 1, 10, tzinfo=UTC)),
        "open": report(org, "open", datetime(2018, 2, 1, 10, tzinfo=UTC)),
    }
    record(made["old"], closed_at=datetime(2019, 9, 1, tzinfo=UTC), ban_until=date(2020, 6, 1))
    record(made["recent"], closed_at=datetime(2022, 1, 5, tzinfo=UTC), ban_until=date(2022, 6, 1))
    record(made["held"], closed_at=datetime(2019, 9, 1, tzinfo=UTC), ban_until=date(2020, 6, 1))
    record(made["open"], closed_at=None, ban_until=date(2027, 1, 1))
    with time_machine.travel(NOW, tick=False):
        retention.set_legal_hold(org["boss"], made["held"], True, "Court case 2025/17")
    return made


def statistics() -> dict[int | str, Any]:
    """Every count HR sees, over the years holding all test incidents, and a full recount
    from the incidents themselves (which retention must not change either)."""
    figures: dict[int | str, Any] = {}
    for year in range(START.year, END.year):
        period = Period.of_year(year)
        assert period is not None
        found = queries.counts(period.months(), published=False)
        figures[year] = (found.cells, found.whole)
        figures[f"on time {year}"] = queries.on_time(period, found, NOW)
    with db.engine.connect() as connection:
        tally.rebuild(connection)
        figures["recount"] = tally.stored(connection)
        connection.rollback()
    return figures


def personal_data(incident: Incident) -> dict[str, Any]:
    db.session.refresh(incident)
    steps = db.session.scalars(
        select(AftercareStep).where(AftercareStep.incident_id == incident.id)
    ).all()
    return {
        "fields": [
            incident.description,
            incident.location,
            incident.outside_witnesses,
            incident.perpetrator_name,
            incident.perpetrator_reference,
        ],
        "people": db.session.scalars(
            select(IncidentPerson).where(IncidentPerson.incident_id == incident.id)
        ).all(),
        "notes": [s.note for s in steps],
        "subjects": [s.subject_user_id for s in steps if s.subject_user_id is not None],
        "details": [
            value for s in steps for value in (s.reference, s.reason, s.police_outcome) if value
        ],
    }


def test_cutoff_is_calendar_years_and_february_29_becomes_28():
    assert retention.retention_cutoff(NOW, 5) == datetime(2021, 3, 10, 9, tzinfo=UTC)
    leap = datetime(2024, 2, 29, 12, tzinfo=UTC)
    assert retention.retention_cutoff(leap, 5) == datetime(2019, 2, 28, 12, tzinfo=UTC)
    assert retention.retention_cutoff(leap, 4) == datetime(2020, 2, 29, 12, tzinfo=UTC)


def test_retention_anonymises_only_what_is_due_and_keeps_the_counts(incidents):
    before = statistics()
    with time_machine.travel(NOW, tick=False):
        report_ = retention.run_retention(NOW, 5)
    assert report_ == {
        "anonymised": 1,
        "files_removed": 0,
        "held": 1,
        "measures_expired": 3,
        "measures_started": 0,
        "measures_ended": 0,
        "measures_reminded": 0,
        "measures_anonymised": 0,
        "years": 5,
    }

    old = personal_data(incidents["old"])
    assert old == {"fields": [""] * 5, "people": [], "notes": [""] * len(old["notes"]),
                   "subjects": [], "details": []}  # fmt: skip
    assert old["notes"]
    assert incidents["old"].anonymised_at == NOW
    assert incidents["old"].perpetrator_known == PerpetratorKnown.KNOWN
    steps = {s.kind: s for s in incidents["old"].steps}
    assert steps["police_report"].outcomes == ["filed_by_employer"]
    assert steps["perpetrator_response"].end_date == date(2020, 6, 1)
    assert steps["contact"].done_at is not None

    for key in ("recent", "held", "open"):
        kept = personal_data(incidents[key])
        assert kept["fields"] == list(SECRETS), key
        assert len(kept["people"]) == 2 and all(kept["notes"]) and kept["details"], key
        assert incidents[key].anonymised_at is None

    assert statistics() == before
    anonymised = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "retention.anonymise")
    ).all()
    assert [(e.object_type, e.object_id, e.details) for e in anonymised] == [
        ("incident", incidents["old"].id, {})
    ]


def test_a_second_run_changes_nothing_but_keeps_its_report(incidents):
    with time_machine.travel(NOW, tick=False):
        retention.run_retention(NOW, 5)
        audited = db.session.scalar(select(db.func.count(AuditEvent.id)))
        later = NOW + timedelta(minutes=5)
        assert retention.run_retention(later, 5) == {
            "anonymised": 0,
            "files_removed": 0,
            "held": 1,
            "measures_expired": 0,
            "measures_started": 0,
            "measures_ended": 0,
            "measures_reminded": 0,
            "measures_anonymised": 0,
            "years": 5,
        }
    db.session.expire_all()
    assert incidents["old"].anonymised_at == NOW  # not touched again
    runs = db.session.scalars(select(RetentionRun).order_by(RetentionRun.id)).all()
    assert [r.report["anonymised"] for r in runs] == [1, 0]
    assert runs[1].at == NOW + timedelta(minutes=5)
    # Only the second run's own record was added to the audit trail.
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[audited:] == ["retention.run"]


def test_an_open_incident_is_never_anonymised(incidents):
    much_later = NOW.replace(year=2060)
    with time_machine.travel(much_later, tick=False):
        retention.run_retention(much_later, 5)
    assert personal_data(incidents["open"])["fields"] == list(SECRETS)
    assert incidents["open"].anonymised_at is None


def test_a_lifted_hold_lets_retention_go_on(incidents, org, make_user):
    admin = make_user(Role.ADMIN)
    with time_machine.travel(NOW, tick=False):
        retention.run_retention(NOW, 5)
        assert incidents["held"].anonymised_at is None
        retention.set_legal_hold(admin, incidents["held"], False, "Case closed")
        assert retention.run_retention(NOW, 5)["anonymised"] == 1
    assert personal_data(incidents["held"])["fields"] == [""] * 5
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action.like("incident.legal_hold%"))
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.actor_id, e.details) for e in events] == [
        ("incident.legal_hold", org["boss"].id, {"reason": "Court case 2025/17"}),
        ("incident.legal_hold_lifted", admin.id, {"reason": "Case closed"}),
    ]


def test_measures_past_their_end_date_are_expired_once(incidents):
    with time_machine.travel(NOW, tick=False):
        retention.run_retention(NOW, 5)
    bans = {
        key: next(s for s in incidents[key].steps if s.kind == "perpetrator_response")
        for key in incidents
    }
    for step in bans.values():
        db.session.refresh(step)
    assert {key: s.measure_expired for key, s in bans.items()} == {
        "old": True,
        "recent": True,
        "held": True,
        "open": False,  # ends in 2027
    }
    expired = db.session.scalars(
        select(AuditEvent.object_id).where(AuditEvent.action == "retention.expire_measure")
    ).all()
    assert Counter(expired) == Counter(bans[k].id for k in ("old", "recent", "held"))


def test_set_legal_hold_refuses_bad_requests(incidents, make_user):
    admin = make_user(Role.ADMIN)
    with pytest.raises(services.ServiceError) as short:
        retention.set_legal_hold(admin, incidents["recent"], True, " x ")
    assert short.value.field == "reason"
    with pytest.raises(services.ServiceError) as long_:
        retention.set_legal_hold(admin, incidents["recent"], True, "x" * 201)
    assert long_.value.field == "reason"
    with pytest.raises(services.ServiceError) as twice:
        retention.set_legal_hold(admin, incidents["held"], True, "Another case")
    assert twice.value.field == "incident"
    with pytest.raises(services.ServiceError):
        retention.set_legal_hold(admin, incidents["recent"], False, "")
    db.session.refresh(incidents["recent"])
    assert incidents["recent"].legal_hold is False


def test_the_command_prints_its_report_on_one_line(app, incidents):
    assert "retention" in app.cli.commands  # registered by cli.init_app
    runner = app.test_cli_runner()
    with time_machine.travel(NOW, tick=False):
        result = runner.invoke(args=["retention", "--years", "5"])
        assert result.exit_code == 0, result.output
        assert result.output == (
            "anonymised 1, files removed 0, held 1, measures expired 3, measures started 0, "
            "measures ended 0, measures reminded 0, measures anonymised 0 (retention 5 years)\n"
        )
        default = runner.invoke(args=["retention"])
        years = app.config.get("RETENTION_YEARS", 5)
        assert default.exit_code == 0, default.output
        assert default.output.strip().endswith(f"(retention {years} years)")
        assert runner.invoke(args=["retention", "--years", "0"]).exit_code != 0
    db.session.expire_all()
    assert db.session.scalar(select(db.func.count(RetentionRun.id))) == 2


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.MANAGER, Role.HR])
def test_only_admins_open_the_legal_hold_pages(client, login_as, role):
    login_as(role)
    assert client.get("/admin/legal-holds").status_code == 403
    response = client.post("/admin/legal-holds", data={"incident": "1", "action": "lift"})
    assert response.status_code == 403


def test_admin_places_and_lifts_a_hold_without_seeing_contents(client, make_user, incidents):
    admin = make_user(Role.ADMIN)
    with time_machine.travel(NOW, tick=False):
        login(client, admin)
        retention.run_retention(NOW, 5)
        incident = incidents["recent"]
        placed = client.post(
            "/admin/legal-holds",
            data={"incident": incident.number, "action": "hold", "reason": "Request 12"},
        )
        assert placed.status_code == 302
        assert placed.headers["Location"].endswith("/admin/legal-holds")
        page = client.get("/admin/legal-holds").get_data(as_text=True)
        held_cells = re.findall(r"<td[^>]*>([0-9-]+)</td>", page)  # each cell names its column
        assert incident.number in held_cells and incidents["held"].number in held_cells
        assert not any(secret in page for secret in SECRETS)
        assert "Private note" not in page and "Victim" not in page
        assert 'class="num">1</td>' in page  # the stored report of the run
        db.session.refresh(incident)
        assert incident.legal_hold is True
        lifted = client.post(
            "/admin/legal-holds",
            data={"incident": incident.number, "action": "lift", "reason": ""},
        )
    assert lifted.status_code == 302
    assert lifted.headers["Location"].endswith("/admin/legal-holds")
    db.session.refresh(incident)
    assert incident.legal_hold is False
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_id == incident.id, AuditEvent.action.like("incident.legal%"))
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.actor_id, e.details["reason"]) for e in events] == [
        ("incident.legal_hold", admin.id, "Request 12"),
        ("incident.legal_hold_lifted", admin.id, ""),
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"incident": "999999", "action": "hold", "reason": "Request 12"}, "incident"),
        ({"incident": "1999-9999", "action": "hold", "reason": "Request 12"}, "incident"),
        ({"incident": "abc", "action": "hold", "reason": "Request 12"}, "incident"),
        ({"incident": "", "action": "hold", "reason": "Request 12"}, "incident"),
        ({"incident": "-3", "action": "hold", "reason": "Request 12"}, "incident"),
        ({"incident": "OWN", "action": "hold", "reason": "no"}, "reason"),
        ({"incident": "OWN", "action": "hold", "reason": "x" * 201}, "reason"),
        ({"incident": "OWN", "action": "freeze", "reason": "Request 12"}, "action"),
    ],
)
def test_bad_input_is_shown_next_to_the_field(client, make_user, incidents, data, field):
    login(client, make_user(Role.ADMIN))
    if data["incident"] == "OWN":
        data = {**data, "incident": incidents["recent"].number}
    response = client.post("/admin/legal-holds", data=data)
    assert response.status_code == 200
    assert form_errors(response.get_data(as_text=True)) == [field]
    db.session.refresh(incidents["recent"])
    assert incidents["recent"].legal_hold is False


def test_a_draft_cannot_be_held_and_the_form_needs_its_token(client, make_user, org):
    login(client, make_user(Role.ADMIN))
    draft = services.save_report(
        org["victim"], "retention-draft-padding-token", ReportData(), submit=False
    )
    assert draft.number is None
    # A draft has no number; its database id is no way in either.
    response = client.post(
        "/admin/legal-holds", data={"incident": str(draft.id), "action": "hold", "reason": "abc"}
    )
    assert form_errors(response.get_data(as_text=True)) == ["incident"]
    response = client.get(f"/admin/legal-holds?q={draft.id}")
    assert "Choose" not in response.get_data(as_text=True)
    no_token = client.post(
        "/admin/legal-holds",
        data={"incident": str(draft.id), "action": "hold", "reason": "abc"},
        csrf=False,
    )
    assert no_token.status_code == 400


def test_the_admin_finds_an_incident_by_the_beginning_of_its_number(client, make_user, org):
    login(client, make_user(Role.ADMIN))
    now = datetime.now(UTC)
    made = [
        services.save_report(
            org["victim"],
            f"retention-search-{i}-padding-token",
            ReportData(
                occurred_at=now - timedelta(hours=2),
                channel=Channel.COUNTER,
                types=[IncidentType.VERBAL],
                description="Private words that the admin never sees.",
                affected_ids=[org["victim"].id],
            ),
            submit=True,
        )
        for i in range(3)
    ]
    year = now.year
    page = client.get(f"/admin/legal-holds?q={year}-000").get_data(as_text=True)
    assert [m.number for m in made] == [f"{year}-000{i}" for i in (1, 2, 3)]
    for incident in made:
        assert f">{incident.number}</td>" in page
    assert "Private words" not in page and org["victim"].name not in page
    # One whole number, typed loosely, finds that one only; a wildcard is only a character.
    page = client.get(f"/admin/legal-holds?q={year}/2").get_data(as_text=True)
    assert f">{year}-0002</td>" in page and f">{year}-0001</td>" not in page
    for typed in ("%", "_", f"{year}-%", "' OR 1=1 --", "x" * 500):
        response = client.get("/admin/legal-holds", query_string={"q": typed})
        assert response.status_code == 200 and "Choose " not in response.get_data(as_text=True)
    # Choosing one fills in the form.
    page = client.get(f"/admin/legal-holds?incident={year}-0002").get_data(as_text=True)
    assert f'value="{year}-0002"' in page


def test_an_anonymised_incident_is_nobodys_any_more(app, make_user, make_team):
    from incidents.access import incident_view
    from incidents.models import utcnow

    boss = make_user(Role.MANAGER)
    team = make_team("Gone", manager=boss)
    victim = make_user(team=team)
    incident = services.save_report(
        victim,
        "anonymised-view-token-01",
        ReportData(
            occurred_at=datetime(2026, 1, 5, tzinfo=UTC),
            channel=Channel.COUNTER,
            types=[IncidentType.VERBAL],
            description="x",
            affected_ids=[victim.id],
        ),
        submit=True,
    )
    assert incident_view(victim, incident) is not None
    incident.anonymised_at = utcnow()
    db.session.commit()
    assert incident_view(victim, incident) is None and incident_view(boss, incident) is None
    assert login(app.test_client(), victim).get(f"/incidents/{incident.id}").status_code == 404


def photo(colour: tuple[int, int, int]) -> bytes:
    """A small PNG photo (each colour gives other bytes)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (6, 4), colour).save(out, format="PNG")
    return out.getvalue()


def test_retention_takes_the_files_and_the_figures_stay(incidents, org, make_user):
    """The files of an anonymised incident leave the store and their rows keep no name; a
    legal hold keeps them; the statistics count the incident with evidence all the same."""
    from incidents.services.evidence import Upload, add_files, remove_file, set_keep_originals
    from incidents.services.evidence import store as evidence_store

    admin = make_user(Role.ADMIN)
    old, held = incidents["old"], incidents["held"]
    with time_machine.travel(datetime(2019, 7, 2, 10, tzinfo=UTC), tick=False):
        set_keep_originals(admin, True)  # originals too: they must go as well
        kept, removed, handed = add_files(
            org["victim"],
            old,
            [
                Upload("mrs-resident-at-the-desk.png", photo((200, 0, 0))),
                Upload("wrong-photo.png", photo((0, 200, 0))),
                Upload("for-the-police.png", photo((0, 0, 200))),
            ],
        )
        on_hold = add_files(org["victim"], held, [Upload("held.png", photo((9, 9, 9)))])[0]
        remove_file(org["boss"], removed, "Shows Mrs Resident's neighbour by mistake")
        with services.transaction():
            handed.handed_at = datetime(2019, 7, 2, 10, tzinfo=UTC)
    old_keys = [k for a in (kept, removed, handed) for k in (a.key, a.original_key) if k]
    assert len(old_keys) == 6 and on_hold.original_key is not None
    before = statistics()
    evidence_2019 = {
        measure: sum(before[2019][0].get((measure, q, "", 3), 0) for q in ("2019-Q2", "2019-Q3"))
        for measure in ("evidence", "evidence_police")
    }
    assert evidence_2019 == {"evidence": 2, "evidence_police": 1}

    with time_machine.travel(NOW, tick=False):
        report_ = retention.run_retention(NOW, 5)
    assert report_["anonymised"] == 1 and report_["files_removed"] == 2

    store = evidence_store()
    assert not any(store.exists(key) for key in old_keys)
    db.session.expire_all()
    for attachment in (kept, removed, handed):
        assert attachment.filename == "" and attachment.original_key is None
        assert not attachment.present and not attachment.for_police
    for attachment in (kept, handed):
        assert attachment.removed_at == NOW and attachment.removed_by_id is None
        assert attachment.removed_reason == "retention"
    # Removed by a person before: still theirs, but the reason they gave (free text) is gone.
    assert removed.removed_by_id == org["boss"].id and removed.removed_reason == ""
    history = db.session.scalars(
        select(IncidentChange.fields).where(
            IncidentChange.incident_id == old.id, IncidentChange.action.like("evidence%")
        )
    ).all()
    assert history and all(fields == [] for fields in history)
    # On hold: untouched, bytes and all.
    assert on_hold.present and on_hold.filename == "held.png"
    assert store.exists(on_hold.key) and store.exists(on_hold.original_key)
    # Retention never moves a figure: the incident still counts as one with evidence.
    assert statistics() == before
