"""The aftercare protocol at work: levels, steps, owners, the inbox, outcomes, conflicts."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from flask_babel import force_locale, gettext
from sqlalchemy import select

from incidents import queries, services
from incidents.extensions import db, org_zone
from incidents.models import AftercareStep, Channel, Incident, IncidentType, Role, StepStatus
from incidents.rules import default_protocol_path
from incidents.services import ReportData
from tests.conftest import form_errors, login

# Tuesday 10 March 2026, 10:00 in Amsterdam.
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def org(make_user, make_team):
    """Two teams in one department, with managers and a deputy, as in the demo."""
    head = make_user(Role.MANAGER, name="Head")
    department = make_team("Department", manager=head)
    boss, boss2, deputy = (make_user(Role.MANAGER, name=n) for n in ("Boss", "Boss2", "Deputy"))
    income = make_team("Income", parent=department, manager=boss, deputy=deputy)
    enforcement = make_team("Enforcement", parent=department, manager=boss2)
    return {
        "head": head,
        "boss": boss,
        "boss2": boss2,
        "deputy": deputy,
        "victim": make_user(name="Victim", team=income),
        "witness": make_user(name="Witness", team=enforcement),
        "stranger": make_user(name="Stranger", team=income),
        "income": income,
        "enforcement": enforcement,
    }


def submit(org, types=(IncidentType.PHYSICAL,), witness=True, **facts):
    return services.save_report(
        org["victim"],
        f"token-{len(types)}-{sorted(facts)}-{witness}",
        ReportData(
            occurred_at=NOW - timedelta(minutes=30),
            channel=Channel.COUNTER,
            types=list(types),
            description="It happened.",
            affected_ids=[org["victim"].id],
            witness_ids=[org["witness"].id] if witness else [],
            **facts,
        ),
        submit=True,
    )


def steps_of(incident):
    db.session.refresh(incident)
    return {(s.definition_id, s.subject_user_id): s for s in incident.steps}


def test_physical_violence_plans_the_full_track_with_owners_and_deadlines(org, frozen):
    incident = submit(org)
    assert (incident.level, incident.level_rule) == (3, "physical")
    assert incident.level_reason["en"] and incident.level_reason["nl"]
    assert incident.protocol_version.startswith("2026.1+")
    steps = steps_of(incident)
    victim, witness = org["victim"].id, org["witness"].id
    assert set(steps) == {
        ("contact", victim),
        ("aftercare_conversation", victim),
        ("follow_up_conversation", victim),
        ("referral_decision", victim),
        ("closing_conversation", victim),
        ("police_report", None),
        ("perpetrator_response", None),
        ("team_evaluation", None),
        ("witness_aftercare_conversation", witness),
    }
    # The victim's and the incident's steps belong to the victim's manager; the witness's to theirs.
    assert {s.owner_id for k, s in steps.items() if k[1] != witness} == {org["boss"].id}
    assert steps[("witness_aftercare_conversation", witness)].owner_id == org["boss2"].id
    # Same working day, 17:00 Amsterdam = 16:00 UTC; 72 hours after the incident.
    assert steps[("contact", victim)].due_at == datetime(2026, 3, 10, 16, 0, tzinfo=UTC)
    assert steps[("aftercare_conversation", victim)].due_at == NOW - timedelta(
        minutes=30
    ) + timedelta(hours=72)


def test_verbal_aggression_asks_only_for_a_check_in(org, frozen):
    incident = submit(org, types=(IncidentType.VERBAL,))
    assert incident.level == 1
    assert set(steps_of(incident)) == {("contact", org["victim"].id)}


def test_absent_manager_new_steps_go_to_the_deputy(org, frozen):
    services.aftercare.set_absent(org["boss"], True)
    incident = submit(org, types=(IncidentType.VERBAL,))
    assert steps_of(incident)[("contact", org["victim"].id)].owner_id == org["deputy"].id


def inbox(client, tab="mine"):
    return client.get(f"/aftercare?tab={tab}").text


def test_inboxes_and_timelines_show_each_person_only_their_part(app, org, frozen):
    incident = submit(org)
    boss, deputy, boss2 = (login(app.test_client(), org[k]) for k in ("boss", "deputy", "boss2"))
    assert "Victim" in inbox(boss) and "Witness" not in inbox(boss)
    # Deputies see their teams' steps, apart from their own: the tab of steps they stand in for.
    assert "Victim" not in inbox(deputy) and "Victim" in inbox(deputy, "standing_in")
    assert "Victim" not in inbox(boss, "standing_in")  # the boss owns them all
    assert "Witness" in inbox(boss2) and "Victim" not in inbox(boss2)
    head = login(app.test_client(), org["head"])
    assert "/aftercare/steps/" not in inbox(head) + inbox(head, "standing_in")

    timeline = boss.get(f"/incidents/{incident.id}").text
    assert (
        timeline.count("overdue") == 0 and "Witness" in timeline
    )  # full timeline for the victim's manager
    victim = login(app.test_client(), org["victim"])
    home = victim.get("/").text
    assert "Boss" in home  # who owns my steps
    page = victim.get(f"/incidents/{incident.id}").text
    assert "Witness</td>" not in page  # never other people's tracks
    witness = login(app.test_client(), org["witness"])
    wpage = witness.get(f"/incidents/{incident.id}").text
    assert "Boss2" in wpage and "Victim</td>" not in wpage
    other = login(app.test_client(), org["boss2"]).get(f"/incidents/{incident.id}").text
    assert "It happened." not in other  # the witness's manager gets the limited view


def complete(client, step, **data):
    data.setdefault("attempts", str(step.attempts))
    return client.post(f"/aftercare/steps/{step.id}", data=data)


def test_completing_a_conversation(app, org, frozen):
    incident = submit(org)
    step = steps_of(incident)[("contact", org["victim"].id)]
    boss = login(app.test_client(), org["boss"])
    response = complete(
        boss, step, outcomes="held", held_on="2026-03-10", note="Went home early, colleague drove."
    )
    assert response.status_code == 302
    db.session.refresh(step)
    assert (step.status, step.outcomes, step.done_by_id) == (
        StepStatus.DONE,
        ["held"],
        org["boss"].id,
    )
    assert step.held_on == date(2026, 3, 10) and step.done_at == NOW
    # The employee sees the outcome and the note of their own step.
    page = login(app.test_client(), org["victim"]).get("/").text
    assert "Went home early" in page


def test_a_declined_conversation_is_offered_once_more_after_two_weeks(app, org, frozen):
    incident = submit(org)
    step = steps_of(incident)[("aftercare_conversation", org["victim"].id)]
    boss = login(app.test_client(), org["boss"])
    complete(boss, step, outcomes="declined")
    repeats = [s for s in steps_of(incident).values() if s.repeat_of_id == step.id]
    assert len(repeats) == 1 and repeats[0].is_open
    assert repeats[0].due_at == NOW + timedelta(days=14)
    complete(boss, repeats[0], outcomes="declined")
    assert len([s for s in steps_of(incident).values() if s.repeat_of_id]) == 1  # once only


def test_not_reached_keeps_the_step_open_and_counts_the_attempt(app, org, frozen):
    step = steps_of(submit(org))[("contact", org["victim"].id)]
    boss = login(app.test_client(), org["boss"])
    complete(boss, step, outcomes="not_reached")
    db.session.refresh(step)
    assert step.is_open and step.attempts == 1 and len(step.attempt_times) == 1


@pytest.mark.parametrize(
    ("definition", "data", "field"),
    [
        ("contact", {}, "outcomes"),
        ("contact", {"outcomes": "filed_by_employer"}, "outcomes"),
        ("contact", {"outcomes": ["held", "declined"]}, "outcomes"),
        ("contact", {"outcomes": "held", "held_on": "2026-03-11"}, "held_on"),
        ("contact", {"outcomes": "held", "note": "x" * 1001}, "note"),
        ("police_report", {"outcomes": "not_filed"}, "reason"),
        ("perpetrator_response", {"outcomes": "building_ban", "citizen_heard": "y"}, "end_date"),
        (
            "perpetrator_response",
            {"outcomes": "building_ban", "end_date": "2026-03-09", "citizen_heard": "y"},
            "end_date",
        ),
        (
            "perpetrator_response",
            {"outcomes": "building_ban", "end_date": "2026-09-01"},
            "citizen_heard",
        ),
        ("perpetrator_response", {"outcomes": ["none", "warning_letter"]}, "outcomes"),
        ("referral_decision", {"outcomes": ["declined", "gp"]}, "outcomes"),
        ("team_evaluation", {"outcomes": "held"}, "held_on"),
        ("contact", {"outcomes": "held", "held_on": "not a date"}, "held_on"),
    ],
)
def test_outcome_rules_per_kind(app, org, frozen, definition, data, field):
    incident = submit(org)
    step = next(s for (d, _), s in steps_of(incident).items() if d == definition)
    boss = login(app.test_client(), org["boss"])
    response = complete(boss, step, **data)
    assert response.status_code == 200
    assert field in form_errors(response.text), form_errors(response.text)
    db.session.refresh(step)
    assert step.is_open and step.attempts == 0


@pytest.mark.parametrize(
    ("data", "messages"),
    [
        (
            {"outcomes": "reported"},
            {
                "held_on": "Enter the date of the report.",
                "reference": "Enter the reference of the report.",
            },
        ),
        (
            {"outcomes": "reported", "held_on": "2026-03-10"},
            {"reference": "Enter the reference of the report."},
        ),
        (
            {"outcomes": "reported", "reference": "NLA-2026-17"},
            {"held_on": "Enter the date of the report."},
        ),
        ({"outcomes": "not_required"}, {"reason": "Give the reason."}),
    ],
)
def test_a_labour_inspectorate_report_needs_its_date_and_reference(
    app, org, frozen, data, messages
):
    incident = submit(org, hospital=True)
    step = steps_of(incident)[("labour_inspectorate", None)]
    boss = login(app.test_client(), org["boss"])
    response = complete(boss, step, **data)
    assert response.status_code == 200
    errors = form_errors(response.text)
    assert set(errors) == set(messages), errors
    with force_locale("nl"):  # the user reads Dutch, next to the field
        for name, message in messages.items():
            assert f'id="{name}-error">{gettext(message)}' in response.text
    db.session.refresh(step)
    assert step.is_open and step.attempts == 0
    saved = complete(boss, step, outcomes="reported", held_on="2026-03-10", reference="NLA-1")
    assert saved.status_code == 302
    db.session.refresh(step)
    assert (step.status, step.held_on, step.reference) == (
        StepStatus.DONE,
        date(2026, 3, 10),
        "NLA-1",
    )


def test_several_referrals_and_a_building_ban(app, org, frozen):
    steps = steps_of(submit(org))
    boss = login(app.test_client(), org["boss"])
    referral = steps[("referral_decision", org["victim"].id)]
    assert complete(boss, referral, outcomes=["victim_support", "social_work"]).status_code == 302
    ban = steps[("perpetrator_response", None)]
    response = complete(
        boss,
        ban,
        outcomes=["warning_letter", "building_ban"],
        end_date="2026-09-10",
        citizen_heard="y",
    )
    assert response.status_code == 302
    db.session.refresh(ban)
    assert ban.outcomes == ["warning_letter", "building_ban"] and ban.end_date == date(2026, 9, 10)
    assert ban.citizen_heard is True


def test_completing_twice_one_wins_and_the_other_gets_a_message(app, org, frozen):
    step = steps_of(submit(org))[("contact", org["victim"].id)]
    boss, deputy = login(app.test_client(), org["boss"]), login(app.test_client(), org["deputy"])
    seen = step.attempts
    assert complete(boss, step, outcomes="held", attempts=str(seen)).status_code == 302
    second = complete(deputy, step, outcomes="declined", attempts=str(seen))
    db.session.refresh(step)
    assert step.outcomes == ["held"] and step.done_by_id == org["boss"].id
    assert second.status_code == 302
    assert "Iemand anders heeft deze stap" in deputy.get(second.headers["Location"]).text


def test_a_stale_form_does_not_overwrite_a_newer_attempt(app, org, frozen):
    step = steps_of(submit(org))[("contact", org["victim"].id)]
    boss = login(app.test_client(), org["boss"])
    complete(boss, step, outcomes="not_reached", attempts="0")
    stale = complete(boss, step, outcomes="held", held_on="2026-03-10", attempts="0")
    assert stale.status_code == 200
    db.session.refresh(step)
    assert step.is_open and step.attempts == 1


def test_someone_elses_step_is_404_and_employees_have_no_inbox(app, org, frozen):
    incident = submit(org)
    step = steps_of(incident)[("contact", org["victim"].id)]
    boss2 = login(app.test_client(), org["boss2"])
    assert boss2.get(f"/aftercare/steps/{step.id}").status_code == 404
    assert complete(boss2, step, outcomes="held").status_code == 404
    assert (
        boss2.post(f"/aftercare/steps/{step.id}/hand", data={"owner": org["boss2"].id}).status_code
        == 404
    )
    victim = login(app.test_client(), org["victim"])
    assert victim.get("/aftercare").status_code == 403
    assert victim.get(f"/aftercare/steps/{step.id}").status_code == 403
    db.session.refresh(step)
    assert step.is_open and step.owner_id == org["boss"].id


def test_handing_a_step_to_another_manager(app, org, frozen):
    step = steps_of(submit(org))[("police_report", None)]
    boss = login(app.test_client(), org["boss"])
    assert (
        boss.post(
            f"/aftercare/steps/{step.id}/hand", data={"owner": str(org["head"].id)}
        ).status_code
        == 302
    )
    db.session.refresh(step)
    assert step.owner_id == org["head"].id
    # An incident step names no person: the head sees the step, not who was affected.
    assert "Victim" not in login(app.test_client(), org["head"]).get("/aftercare").text
    assert (
        f"/aftercare/steps/{step.id}"
        in login(app.test_client(), org["head"]).get("/aftercare").text
    )


def test_raising_the_level_adds_steps_and_keeps_completed_ones(app, org, frozen):
    incident = submit(org, types=(IncidentType.VERBAL,), witness=False)
    contact = steps_of(incident)[("contact", org["victim"].id)]
    boss = login(app.test_client(), org["boss"])
    complete(boss, contact, outcomes="held", held_on="2026-03-10")
    data = ReportData(
        occurred_at=incident.occurred_at,
        channel=Channel.COUNTER,
        types=[IncidentType.VERBAL, IncidentType.THREAT],
        description="He came back with a knife.",
        affected_ids=[org["victim"].id],
        weapon=True,
    )
    services.amend_report(org["victim"], incident, data, incident.version)
    steps = steps_of(incident)
    assert incident.level == 3 and incident.level_rule == "threat_with_weapon"
    assert steps[("contact", org["victim"].id)].status == StepStatus.DONE
    assert ("police_report", None) in steps and ("closing_conversation", org["victim"].id) in steps
    # Lowering the level again: open steps stay visible as no longer required, with the reason.
    data.types, data.weapon = [IncidentType.VERBAL], False
    services.amend_report(org["victim"], incident, data, incident.version)
    steps = steps_of(incident)
    assert incident.level == 1
    police = steps[("police_report", None)]
    assert police.status == StepStatus.NOT_REQUIRED and "1" in police.not_required_reason
    assert steps[("contact", org["victim"].id)].status == StepStatus.DONE


def test_adding_a_witness_later_adds_their_track(app, org, frozen):
    incident = submit(org, types=(IncidentType.THREAT,), witness=False)
    assert ("witness_aftercare_conversation", org["witness"].id) not in steps_of(incident)
    services.amend_report(
        org["victim"],
        incident,
        ReportData(
            occurred_at=incident.occurred_at,
            channel=Channel.COUNTER,
            types=[IncidentType.THREAT],
            description="It happened.",
            affected_ids=[org["victim"].id],
            witness_ids=[org["witness"].id],
        ),
        incident.version,
    )
    step = steps_of(incident)[("witness_aftercare_conversation", org["witness"].id)]
    assert step.owner_id == org["boss2"].id


def test_the_incident_closes_when_every_track_is_closed(app, org, frozen):
    incident = submit(org, types=(IncidentType.VERBAL,))
    step = steps_of(incident)[("contact", org["victim"].id)]
    assert incident.closed_at is None
    boss = login(app.test_client(), org["boss"])
    assert "1 open" in boss.get(f"/incidents/{incident.id}").text
    complete(boss, step, outcomes="held", held_on="2026-03-10")
    db.session.refresh(incident)
    assert incident.closed_at == NOW
    page = boss.get(f"/incidents/{incident.id}").text
    assert "traject afgesloten" in page and "Nazorg afgesloten op" in page


def test_overdue_steps_are_marked_and_filtered(app, org, frozen):
    incident = submit(org)
    boss = login(app.test_client(), org["boss"])
    assert "/aftercare/steps/" not in boss.get("/aftercare?state=overdue").text
    frozen.move_to(NOW + timedelta(days=2))
    boss = login(app.test_client(), org["boss"])
    overdue = boss.get("/aftercare?state=overdue").text
    contact = steps_of(incident)[("contact", org["victim"].id)]
    assert f"/aftercare/steps/{contact.id}" in overdue and 'class="overdue-flag"' in overdue
    assert boss.get("/aftercare?state=bogus").status_code == 200


def test_the_navigation_counts_open_steps(app, org, frozen):
    submit(org, types=(IncidentType.VERBAL,))
    page = login(app.test_client(), org["boss"]).get("/").text
    assert '<span class="badge">1<' in page


def test_the_inbox_runs_a_constant_number_of_queries(app, org, frozen, count_queries):
    submit(org)
    boss = login(app.test_client(), org["boss"])
    boss.get("/aftercare")
    with count_queries() as few:
        boss.get("/aftercare")
    for n in range(5):
        services.save_report(
            org["victim"],
            f"more-incidents-token-{n}",
            ReportData(
                occurred_at=NOW - timedelta(hours=n + 1),
                channel=Channel.PHONE,
                types=[IncidentType.PHYSICAL],
                description="Again.",
                affected_ids=[org["victim"].id, org["stranger"].id],
            ),
            submit=True,
        )
    with count_queries() as many:
        boss.get("/aftercare")
    assert many.count == few.count


def walk_inbox(client, state, tab="mine"):
    """Every step id the inbox lists for a state, following its "next" links; the pages."""
    seen: list[int] = []
    pages = 0
    url: str | None = f"/aftercare?tab={tab}&state={state}"
    while url:
        page = client.get(url).text
        pages += 1
        seen += [int(i) for i in re.findall(r'href="/aftercare/steps/(\d+)"', page)]
        after = re.search(r'href="/aftercare\?[^"]*after=(\d+)"', page)
        url = f"/aftercare?tab={tab}&state={state}&after={after.group(1)}" if after else None
    return seen, pages


def grouped(steps):
    """Steps in list order, regrouped as the inbox shows them: each incident's steps
    together, the incidents in the order of their first step; and how many incidents."""
    groups: dict[int, list[int]] = {}
    for step in steps:
        groups.setdefault(step.incident_id, []).append(step.id)
    return [i for ids in groups.values() for i in ids], len(groups)


def test_the_inbox_pages_through_every_step_once_grouped_by_incident(app, org, frozen):
    # The inbox lists incidents, each with all its steps (the old list mixed them by
    # deadline): 23 incidents, so three pages; level 3 with two affected employees gives the
    # boss 13 steps an incident, level 1 one.
    for n in range(2 * queries.INBOX_PAGE + 3):
        services.save_report(
            org["victim"],
            f"paging-token-{n}",
            ReportData(
                occurred_at=NOW - timedelta(days=n + 1, hours=n % 3),
                channel=Channel.PHONE,
                types=[IncidentType.PHYSICAL if n % 2 else IncidentType.VERBAL],
                description="Again.",
                affected_ids=[org["victim"].id, org["stranger"].id],
            ),
            submit=True,
        )
    boss = login(app.test_client(), org["boss"])
    now = datetime.now(UTC)
    mine = queries.InboxTab.MINE
    for state in ("open", "overdue"):
        expected, incidents = grouped(
            db.session.scalars(queries.inbox_query(org["boss"], state, now, mine))
        )
        assert incidents > 2 * queries.INBOX_PAGE or state == "overdue"
        seen, pages = walk_inbox(boss, state)
        assert seen == expected  # each once, grouped by incident
        assert pages == max(1, math.ceil(incidents / queries.INBOX_PAGE))
    # Done steps: the incident with the latest deadline first, over several pages too.
    for step in db.session.scalars(queries.inbox_query(org["boss"], "open", now)).all()[:60]:
        step.status, step.done_at, step.outcomes = StepStatus.DONE, now, ["held"]
    db.session.commit()
    done, incidents = grouped(
        db.session.scalars(queries.inbox_query(org["boss"], "done", now, mine))
    )
    assert len(done) == 60 and incidents > queries.INBOX_PAGE
    assert walk_inbox(boss, "done") == (done, math.ceil(incidents / queries.INBOX_PAGE))

    # A cursor that is no step, or garbage, starts at the first page.
    def listed(url):
        return re.findall(r'href="/aftercare/steps/(\d+)"', boss.get(url).text)

    first = listed("/aftercare?state=open")
    for after in ("999999", "abc", "-1", "1" * 40):
        assert listed(f"/aftercare?state=open&after={after}") == first


def test_a_broken_protocol_file_stops_the_start_with_a_message(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    bad = tmp_path / "protocol.toml"
    bad.write_text(
        'version = "x"\n[[steps]]\nid = "a"\nkind = "contact"\nsubject = "victim"\nmin_level = 1\nmax_level = 1\ndue = "5x"\ntitle_nl = "a"\ntitle_en = "a"\n'
    )
    code = "from incidents import create_app; create_app({}.get('x') or 'development')"
    env = {
        "INCIDENTS_PROTOCOL_FILE": str(bad),
        "INCIDENTS_INSTANCE_PATH": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "steps[0].due" in result.stderr and "5x" in result.stderr


def test_steps_are_written_with_the_incident_in_one_transaction(org, frozen, monkeypatch):
    from incidents.services import aftercare

    def broken(*args, **kwargs):
        raise RuntimeError("planning failed")

    monkeypatch.setattr(aftercare.rules, "plan", broken)
    with pytest.raises(RuntimeError):
        submit(org)
    assert db.session.scalar(select(Incident)) is None
    assert db.session.scalar(select(AftercareStep)) is None


def test_the_outcome_of_a_filed_police_report_is_added_later(app, org, frozen):
    step = steps_of(submit(org))[("police_report", None)]
    boss = login(app.test_client(), org["boss"])
    early = boss.post(
        f"/aftercare/steps/{step.id}/police-outcome", data={"police_outcome": "Fined"}
    )
    assert early.status_code == 302
    db.session.refresh(step)
    assert step.police_outcome is None  # not decided yet
    complete(boss, step, outcomes="filed_by_employer", reference="PL-2026-001")
    assert (
        boss.post(
            f"/aftercare/steps/{step.id}/police-outcome", data={"police_outcome": ""}
        ).status_code
        == 302
    )
    db.session.refresh(step)
    assert step.police_outcome is None
    boss.post(
        f"/aftercare/steps/{step.id}/police-outcome", data={"police_outcome": "Suspect fined"}
    )
    db.session.refresh(step)
    assert (step.reference, step.police_outcome) == ("PL-2026-001", "Suspect fined")
    assert "Suspect fined" in boss.get(f"/incidents/{step.incident_id}").text


def test_one_time_zone_the_protocols(tmp_path):
    from tests.conftest import make_app

    url = "sqlite:///" + str(tmp_path / "zone.db")
    with pytest.raises(SystemExit) as stopped:
        make_app(url, ORG_TIMEZONE="Europe/Brussels")
    message = str(stopped.value)
    assert "ORG_TIMEZONE is Europe/Brussels" in message and "Europe/Amsterdam" in message
    assert "remove ORG_TIMEZONE" in message
    assert make_app(url, ORG_TIMEZONE="Europe/Amsterdam").config["ORG_TIMEZONE"] == (
        "Europe/Amsterdam"
    )
    # Unset, it is the protocol's: an organisation in another zone changes one file.
    text = Path(default_protocol_path()).read_text(encoding="utf-8")
    other = tmp_path / "protocol.toml"
    other.write_text(text.replace('timezone = "Europe/Amsterdam"', 'timezone = "Europe/Lisbon"'))
    app = make_app(url, PROTOCOL_FILE=str(other))
    assert app.config["ORG_TIMEZONE"] == "Europe/Lisbon"
    with app.app_context():
        assert str(org_zone()) == "Europe/Lisbon"
