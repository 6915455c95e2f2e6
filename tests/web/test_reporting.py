"""Reporting: the form, validation, drafts, quick log, reporting on behalf, double submits, history."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
import time_machine
from sqlalchemy import func, select

from incidents.extensions import db
from incidents.models import (
    AuditEvent,
    Channel,
    Incident,
    IncidentChange,
    IncidentPerson,
    IncidentStatus,
    IncidentType,
    Notification,
    PersonRole,
    Role,
)
from tests.conftest import Client, form_errors, login

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)  # 10:30 in Amsterdam


def count(model=Incident):
    return db.session.scalar(select(func.count()).select_from(model))


def token(client, url="/incidents/new"):
    found = re.search(
        r'name="submission_token" type="hidden" value="([^"]+)"',
        client.get(url, follow_redirects=True).text,
    )
    assert found is not None, "the form carries a submission token"
    return found.group(1)


def version_of(incident):
    """The version an edit form made now would carry."""
    db.session.refresh(incident)
    return str(incident.version)


def report(**overrides):
    data = {
        "occurred_at": "2026-03-10T10:15",
        "channel": "counter",
        "types": ["verbal", "threat"],
        "description": "Client shouted and threatened to come back.",
        "affected_self": "y",
        "location": "Counter 3",
        "perpetrator_known": "unknown",
        "submit": "Submit report",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def employee(make_user, make_team):
    return make_user(Role.EMPLOYEE, team=make_team("Income"), name="Eva Employee")


def test_the_form_defaults_to_now_in_the_organisations_time_zone(client, employee, frozen):
    login(client, employee)
    page = client.get("/incidents/new", follow_redirects=True).text
    assert 'value="2026-03-10T10:30"' in page
    assert "medische" in page  # the description warns against medical details (Dutch by default)


def test_submit_a_full_report(client, employee, make_user, frozen):
    colleague = make_user(name="Cor Colleague")
    witness = make_user(name="Wim Witness")
    login(client, employee)
    response = client.post(
        "/incidents/new",
        data=report(
            submission_token="tok-1-padded-token-0001",
            affected=[str(colleague.id)],
            witnesses=[str(witness.id)],
            aggravating=["weapon", "injury"],
            outside_witnesses="A resident",
            perpetrator_known="known",
            perpetrator_name="J. Doe",
            perpetrator_reference="K-123",
            police_called="y",
            police_report_wanted="y",
            damage="y",
        ),
    )
    assert response.status_code == 302
    incident = db.session.scalar(select(Incident))
    assert incident is not None
    assert response.headers["Location"] == f"/incidents/{incident.id}"
    assert incident.status == IncidentStatus.SUBMITTED and incident.submitted_at == NOW
    assert incident.occurred_at == datetime(
        2026, 3, 10, 9, 15, tzinfo=UTC
    )  # typed in Amsterdam time
    assert incident.channel == Channel.COUNTER and incident.location == "Counter 3"
    assert incident.types == [IncidentType.THREAT, IncidentType.VERBAL]
    assert (incident.weapon, incident.injury, incident.hospital) == (True, True, False)
    assert {(p.user_id, p.role) for p in incident.people} == {
        (employee.id, PersonRole.AFFECTED),
        (colleague.id, PersonRole.AFFECTED),
        (witness.id, PersonRole.WITNESS),
    }
    assert (incident.perpetrator_name, incident.perpetrator_reference) == ("J. Doe", "K-123")
    assert incident.police_called and incident.police_report_wanted and incident.damage
    assert [c.action for c in incident.changes] == ["submitted"]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "incident.submit"))
    detail = client.get(response.headers["Location"]).text
    assert "Client shouted" in detail and "J. Doe" in detail and "Wim Witness" in detail


FUTURE = "2026-03-10T11:00"  # 30 minutes after the frozen now, in Amsterdam time


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"occurred_at": FUTURE}, "occurred_at"),
        ({"occurred_at": "not a date"}, "occurred_at"),
        ({"occurred_at": ""}, "occurred_at"),
        ({"channel": None}, "channel"),
        ({"channel": "rooftop"}, "channel"),
        ({"types": None}, "types"),
        ({"types": ["verbal", "alien-abduction"]}, "types"),
        ({"description": ""}, "description"),
        ({"description": "   "}, "description"),
        ({"description": "x" * 4001}, "description"),
        ({"location": "x" * 201}, "location"),
        ({"outside_witnesses": "x" * 1001}, "outside_witnesses"),
        ({"perpetrator_name": "x" * 201, "perpetrator_known": "known"}, "perpetrator_name"),
        ({"perpetrator_known": "maybe"}, "perpetrator_known"),
        ({"perpetrator_name": "J. Doe"}, "perpetrator_known"),  # a name, but "unknown" chosen
        ({"aggravating": ["laser"]}, "aggravating"),
        ({"affected_self": None}, "affected"),  # nobody affected
        ({"affected": ["999999"]}, "affected"),  # unknown user
        ({"affected": ["inactive"]}, "affected"),
        ({"witnesses": ["999999"]}, "witnesses"),
        ({"witnesses": ["abc"]}, "witnesses"),
        ({"witnesses": ["self"]}, "witnesses"),  # the reporter as their own witness
        ({"witnesses": ["colleague"], "affected": ["colleague"]}, "witnesses"),
    ],
)
def test_bad_input_gets_a_message_next_to_the_field_and_nothing_is_stored(
    client, employee, make_user, frozen, overrides, field
):
    colleague, inactive = make_user(), make_user()
    inactive.active = False
    db.session.commit()
    ids = {"self": str(employee.id), "colleague": str(colleague.id), "inactive": str(inactive.id)}
    for key in ("affected", "witnesses"):
        if key in overrides:
            overrides[key] = [ids.get(v, v) for v in overrides[key]]
    login(client, employee)
    response = client.post(
        "/incidents/new", data=report(submission_token="tok-bad-padded-token-0001", **overrides)
    )
    assert response.status_code == 200
    assert field in form_errors(response.text), form_errors(response.text)
    assert count() == 0 and count(IncidentPerson) == 0 and count(IncidentChange) == 0
    # The rest of the form keeps what was typed.
    if field != "location":
        assert 'value="Counter 3"' in response.text


def test_html_and_script_are_stored_as_typed_and_shown_escaped(client, employee, frozen):
    login(client, employee)
    evil = '<script>alert("x")</script><b>bold</b>'
    response = client.post(
        "/incidents/new",
        data=report(
            submission_token="tok-x-padded-token-0001", description=evil, location=evil[:60]
        ),
    )
    incident = db.session.scalar(select(Incident))
    assert incident is not None
    assert incident.description == evil
    page = client.get(response.headers["Location"]).text
    assert evil not in page and "&lt;script&gt;" in page


def test_a_double_submit_creates_one_incident(client, employee, frozen):
    login(client, employee)
    tok = token(client)
    first = client.post("/incidents/new", data=report(submission_token=tok))
    second = client.post(
        "/incidents/new", data=report(submission_token=tok, description="changed on resubmit")
    )
    assert count() == 1
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(Incident.description)) != "changed on resubmit"


def test_concurrent_double_submit_creates_one_incident(app, employee, frozen):
    tok = "tok-concurrent-padded-0001"
    clients = [login(app.test_client(), employee) for _ in range(4)]
    tokens = [cast(Client, c).csrf_token() for c in clients]
    barrier = threading.Barrier(len(clients))
    results = []

    def submit(client, csrf):
        barrier.wait()
        results.append(
            client.post("/incidents/new", data=report(submission_token=tok, csrf_token=csrf))
        )

    threads = [
        threading.Thread(target=submit, args=pair) for pair in zip(clients, tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert count() == 1
    assert {r.status_code for r in results} == {302}
    assert len({r.headers["Location"] for r in results}) == 1


def test_drafts_start_nothing_until_submitted(client, employee, frozen):
    login(client, employee)
    draft = client.post(
        "/incidents/new",
        data={
            "submission_token": "tok-draft-padded-token-0001",
            "description": "half way",
            "save_draft": "Save as draft",
            "perpetrator_known": "unknown",
        },
    )
    assert draft.status_code == 302
    incident = db.session.scalar(select(Incident))
    assert incident is not None
    assert incident.status == IncidentStatus.DRAFT and incident.submitted_at is None
    assert draft.headers["Location"] == f"/incidents/{incident.id}/edit"
    home = client.get("/").text
    assert f"/incidents/{incident.id}/edit" in home  # the home page lists my open drafts
    # Even a draft keeps the rules it can: no future dates.
    bad = client.post(
        f"/incidents/{incident.id}/edit",
        data={
            "occurred_at": FUTURE,
            "save_draft": "1",
            "perpetrator_known": "unknown",
            "version": version_of(incident),
        },
    )
    assert "occurred_at" in form_errors(bad.text)
    # Submitting the incomplete draft names what is missing.
    incomplete = client.post(
        f"/incidents/{incident.id}/edit",
        data={
            "description": "half way",
            "submit": "1",
            "perpetrator_known": "unknown",
            "version": version_of(incident),
        },
    )
    assert {"channel", "types", "occurred_at"} <= set(form_errors(incomplete.text))
    done = client.post(f"/incidents/{incident.id}/edit", data=report(version=version_of(incident)))
    assert done.headers["Location"] == f"/incidents/{incident.id}"
    db.session.refresh(incident)
    assert incident.status == IncidentStatus.SUBMITTED
    assert [c.action for c in incident.changes] == ["draft", "submitted"]
    assert f"/incidents/{incident.id}/edit" not in client.get("/").text


def test_a_draft_can_be_discarded_but_a_submitted_incident_cannot(client, employee, frozen):
    login(client, employee)
    client.post(
        "/incidents/new",
        data={
            "submission_token": "d1-padded-token-0001",
            "save_draft": "1",
            "perpetrator_known": "unknown",
        },
    )
    draft = db.session.scalar(select(Incident))
    assert draft is not None
    assert client.post(f"/incidents/{draft.id}/discard").status_code == 302
    assert count() == 0
    client.post("/incidents/new", data=report(submission_token="s1-padded-token-0001"))
    submitted = db.session.scalar(select(Incident))
    assert submitted is not None
    assert client.post(f"/incidents/{submitted.id}/discard").status_code == 404
    assert count() == 1


def test_quick_log(client, employee, frozen):
    login(client, employee)
    tok = token(client, "/incidents/quick")
    response = client.post(
        "/incidents/quick",
        data={"submission_token": tok, "type": "verbal", "channel": "phone", "note": ""},
    )
    assert response.status_code == 302
    incident = db.session.scalar(select(Incident))
    assert incident is not None
    assert incident.quick and incident.status == IncidentStatus.SUBMITTED
    assert incident.types == [IncidentType.VERBAL] and incident.channel == Channel.PHONE
    assert incident.occurred_at == NOW
    assert [(p.user_id, p.role) for p in incident.people] == [(employee.id, PersonRole.AFFECTED)]
    # Double tap: still one.
    client.post(
        "/incidents/quick", data={"submission_token": tok, "type": "verbal", "channel": "phone"}
    )
    assert count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (
            {"type": "physical", "channel": "phone"},
            "type",
        ),  # the quick log is for low-level incidents
        ({"channel": "phone"}, "type"),
        ({"type": "verbal"}, "channel"),
        ({"type": "verbal", "channel": "moon"}, "channel"),
        ({"type": "verbal", "channel": "phone", "note": "x" * 201}, "note"),
    ],
)
def test_quick_log_validation(client, employee, data, field):
    login(client, employee)
    response = client.post(
        "/incidents/quick", data={"submission_token": "q-padded-token-0001", **data}
    )
    assert response.status_code == 200
    assert field in form_errors(response.text)
    assert count() == 0


def test_reporting_on_behalf_of_a_colleague(client, app, employee, make_user, frozen):
    colleague = make_user(name="Cor Colleague")
    login(client, employee)
    client.post(
        "/incidents/new",
        data=report(
            submission_token="behalf-padded-token-0001",
            affected_self=None,
            affected=[str(colleague.id)],
        ),
    )
    incident = db.session.scalar(select(Incident))
    assert incident is not None
    assert [(p.user_id, p.role) for p in incident.people] == [(colleague.id, PersonRole.AFFECTED)]
    # The colleague is shown the report and can add to it.
    other = login(app.test_client(), colleague)
    mine = other.get("/incidents").text
    assert f"/incidents/{incident.id}" in mine
    assert "Client shouted" in other.get(f"/incidents/{incident.id}").text
    edit = other.get(f"/incidents/{incident.id}/edit").text
    assert "Eva Employee" in edit  # "Eva Employee (who reported it) was affected"
    response = other.post(
        f"/incidents/{incident.id}/edit",
        data=report(
            affected_self=None,
            affected=[str(colleague.id)],
            description="I add: he came back at noon.",
            version=version_of(incident),
        ),
    )
    assert response.status_code == 302
    db.session.refresh(incident)
    assert incident.description == "I add: he came back at noon."
    change = incident.changes[-1]
    assert (change.actor_id, change.action, change.fields) == (
        colleague.id,
        "updated",
        ["description"],
    )


def test_history_keeps_who_when_and_which_fields(client, employee, make_user):
    witness = make_user()
    with time_machine.travel(NOW, tick=False):
        login(client, employee)
        first = client.post("/incidents/new", data=report(submission_token="h-padded-token-0001"))
    assert first.status_code == 302 and first.headers["Location"].startswith("/incidents/"), (
        first.headers.get("Location")
    )
    incident = db.session.scalar(select(Incident))
    assert incident is not None
    later = NOW + timedelta(hours=2)
    with time_machine.travel(later, tick=False):
        login(client, employee)  # two hours later: a new session
        client.post(
            f"/incidents/{incident.id}/edit",
            data=report(
                location="Interview room 2",
                witnesses=[str(witness.id)],
                aggravating=["weapon"],
                version=version_of(incident),
            ),
        )
        client.post(
            f"/incidents/{incident.id}/edit",
            data=report(
                location="Interview room 2",
                witnesses=[str(witness.id)],
                aggravating=["weapon"],
                version=version_of(incident),
            ),
        )
        page = client.get(f"/incidents/{incident.id}").text
    db.session.refresh(incident)
    changes = incident.changes
    assert [c.action for c in changes] == [
        "submitted",
        "updated",
    ]  # an edit changing nothing records nothing
    assert changes[1].at == later and changes[1].actor_id == employee.id
    assert set(changes[1].fields) == {"location", "weapon", "witnesses"}
    assert (
        "heeft informatie toegevoegd: Plaats, Er was een wapen in het spel, Collega's als getuige"
        in page
    ), page[page.find("<ol") : page.find("</ol>")]


def test_amending_keeps_required_fields_required(client, employee, frozen):
    login(client, employee)
    client.post("/incidents/new", data=report(submission_token="req-padded-token-0001"))
    incident = db.session.scalar(select(Incident))
    assert incident is not None
    response = client.post(
        f"/incidents/{incident.id}/edit",
        data=report(types=None, description="", version=version_of(incident)),
    )
    assert {"types", "description"} <= set(form_errors(response.text))
    db.session.refresh(incident)
    assert incident.types and incident.description


def test_my_incidents_lists_reported_affecting_and_witnessed_with_a_constant_number_of_queries(
    client, app, employee, make_user, count_queries, frozen
):
    witness = make_user()
    login(client, employee)
    client.post(
        "/incidents/new",
        data=report(submission_token="m0-padded-token-0001", witnesses=[str(witness.id)]),
    )
    viewer = login(app.test_client(), witness)
    with count_queries() as few:
        page = viewer.get("/incidents").text
    assert "Getuige" in page
    for n in range(8):
        client.post(
            "/incidents/new",
            data=report(
                submission_token=f"m{n + 1}-padded-token-0001", witnesses=[str(witness.id)]
            ),
        )
    with count_queries() as many:
        viewer.get("/incidents")
    assert many.count == few.count


def test_my_incidents_pages_through_every_incident_once_latest_first(client, employee, frozen):
    login(client, employee)
    for n in range(30):  # the same moment twice: the id breaks the tie
        client.post(
            "/incidents/new",
            data=report(
                submission_token=f"page-{n:02d}-padded-token-01",
                occurred_at=f"2026-02-{1 + n // 2:02d}T10:15",
            ),
        )
    made = db.session.scalars(
        select(Incident.id)
        .where(Incident.reporter_id == employee.id)
        .order_by(Incident.occurred_at.desc(), Incident.id.desc())
    ).all()
    assert len(made) == 30
    url: str | None = "/incidents"
    seen, pages = [], 0
    while url:
        page = client.get(url).text
        pages += 1
        seen += [int(i) for i in re.findall(r'href="/incidents/(\d+)"', page)]
        after = re.search(r'href="/incidents\?after=(\d+)"', page)
        url = f"/incidents?after={after.group(1)}" if after else None
    assert seen == made and pages == 2


def test_incident_pages_in_english(client, employee, frozen):
    login(client, employee)
    client.post("/language", data={"locale": "en", "next": "/"})
    page = client.get("/incidents/new", follow_redirects=True).text
    assert "Report an incident" in page and "Verbal aggression" in page


def test_incident_people_and_history_are_written_in_one_transaction(
    client, employee, make_user, monkeypatch, frozen
):
    """If writing the history fails, neither the incident nor its people are stored."""
    from incidents.services import reporting

    witness = make_user()

    def broken_record(*args, **kwargs):
        raise RuntimeError("history store failed")

    monkeypatch.setattr(reporting, "_record", broken_record)
    login(client, employee)
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = client.post(
            "/incidents/new",
            data=report(submission_token="atomic-padded-token-0001", witnesses=[str(witness.id)]),
        )
    finally:
        client.application.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    assert count() == 0 and count(IncidentPerson) == 0 and count(IncidentChange) == 0


@pytest.mark.parametrize("bad_token", ["", "short", "x" * 65])
def test_a_form_without_a_valid_submission_token_is_refused(client, employee, frozen, bad_token):
    login(client, employee)
    assert client.post("/incidents/new", data=report(submission_token=bad_token)).status_code == 400
    quick = {"submission_token": bad_token, "type": "verbal", "channel": "phone"}
    assert client.post("/incidents/quick", data=quick).status_code == 400
    assert count() == 0


def test_the_form_address_carries_its_token_so_going_back_finds_the_incident(
    client, employee, frozen
):
    login(client, employee)
    fresh = client.get("/incidents/new")
    assert fresh.status_code == 302 and "?t=" in fresh.headers["Location"]
    form_url = fresh.headers["Location"]
    tok = form_url.split("t=")[1]
    assert f'value="{tok}"' in client.get(form_url).text  # the same token every time it is shown
    done = client.post(form_url, data=report(submission_token=tok))
    back = client.get(form_url)  # the browser's back button reloads the form
    assert back.status_code == 302 and back.headers["Location"] == done.headers["Location"]
    assert client.get("/incidents/new?t=short").headers["Location"] != "/incidents/new?t=short"


def test_the_colleague_lists_escape_names_and_keep_the_choice(client, employee, make_user, frozen):
    odd = make_user(name='Ann <b>"Bold"</b> & Co')
    login(client, employee)
    form_url = client.get("/incidents/new").headers["Location"]
    token = form_url.split("t=")[1]
    # Without JavaScript: the search button shows the matches as checkboxes.
    found = client.post(
        form_url, data=report(submission_token=token, find="witnesses", witnesses_q="ann")
    ).text
    assert "Ann &lt;b&gt;&#34;Bold&#34;&lt;/b&gt; &amp; Co" in found
    assert "<b>" not in found
    assert found.count(f'name="witnesses" value="{odd.id}"') == 1  # unticked, in the matches
    assert f'value="{odd.id}" id="witnesses-{odd.id}" checked' not in found
    yourself = client.post(
        form_url, data=report(submission_token=token, find="witnesses", witnesses_q="Eva")
    ).text
    assert f'value="{employee.id}"' not in yourself  # not yourself
    response = client.post(
        form_url,
        data=report(submission_token=token, description="", witnesses=[str(odd.id)]),
    )
    assert "description" in form_errors(response.text)
    # The choice is kept, ticked, with the escaped name.
    assert f'name="witnesses" value="{odd.id}" id="witnesses-{odd.id}" checked' in response.text
    assert "Ann &lt;b&gt;&#34;Bold&#34;&lt;/b&gt; &amp; Co" in response.text


# --- the form on a phone ------------------------------------------------------------------------


def _sections(html: str) -> dict[str, tuple[bool, str]]:
    """The folded sections: summary title -> (unfolded, what the count says)."""
    found = re.findall(
        r'<details class="card fold" data-section( open)?>\s*<summary><span class="fold-title">'
        r'([^<]+)</span> <span class="fold-count"[^>]*>([^<]*)</span>',
        html,
    )
    return {title: (bool(is_open), count) for is_open, title, count in found}


def test_the_submit_button_comes_right_after_the_required_fields(client, employee, frozen):
    login(client, employee)
    html = client.get("/incidents/new", follow_redirects=True).text
    submit = html.index('name="submit"')
    # Everything required is above it; the optional sections and their searches below, so
    # Enter in a field submits the report, not a colleague search.
    for required in ('name="occurred_at"', 'name="channel"', 'name="types"', 'name="description"'):
        assert html.index(required) < submit
    for optional in ('name="find"', 'name="location"', 'name="witnesses_q"', "data-section"):
        assert html.index(optional) > submit
    assert _sections(html) == {
        "Betrokken collega's": (False, "optioneel"),
        "Foto's en bestanden": (False, "optioneel"),
        "Meer details": (False, "optioneel"),
    }
    assert "Ctrl" not in html and "Cmd" not in html  # no keyboard hints meant for a desktop


def test_a_folded_section_counts_what_is_filled_in_and_opens_on_an_error(
    client, employee, make_user, frozen
):
    colleague = make_user(name="Wim Witness", team=employee.team)
    login(client, employee)
    t = token(client)
    response = client.post(
        f"/incidents/new?t={t}",
        data=report(
            submission_token=t,
            save_draft="Save as draft",
            submit=None,
            witnesses=[str(colleague.id)],
            perpetrator_known="known",
            perpetrator_name="P. Dader",
        ),
        follow_redirects=True,
    )
    # The draft: location, perpetrator known and named in one section, a witness in the other.
    assert _sections(response.text) == {
        "Betrokken collega's": (False, "1 ingevuld"),
        "Meer details": (False, "3 ingevuld"),
    }
    draft = db.session.scalars(select(Incident)).one()
    response = client.post(
        f"/incidents/{draft.id}/edit",
        data=report(submission_token=t, version=version_of(draft), perpetrator_reference="x" * 101),
    )
    assert response.status_code == 200
    sections = _sections(response.text)
    assert sections["Meer details"][0] is True  # the error is in sight
    assert sections["Betrokken collega's"][0] is False
    assert 'id="perpetrator_reference-error"' in response.text


def test_a_colleague_search_without_javascript_unfolds_its_section(
    client, employee, make_user, frozen
):
    make_user(name="Wim Witness", team=employee.team)
    login(client, employee)
    t = token(client)
    response = client.post(
        f"/incidents/new?t={t}",
        data=report(submission_token=t, submit=None, find="witnesses", witnesses_q="wim"),
    )
    assert _sections(response.text)["Betrokken collega's"] == (True, "optioneel")
    assert "Wim Witness" in response.text and count() == 0


def test_a_new_report_writes_its_incident_row_once(
    client, make_user, make_team, count_queries, frozen
):
    """Its version, level and team are set before the row is written: one INSERT. Its number
    comes last, as one UPDATE of that column alone after every other row is written (the
    year's counter it takes stays locked until the commit; tests/web/test_races.py), with
    only the statistics' counts after it (the bench's report POST)."""
    manager = make_user(Role.MANAGER, name="Mia Manager")
    team = make_team("Counter", manager=manager)
    employee = make_user(Role.EMPLOYEE, team=team, name="Eva Employee")
    witness = make_user(name="Wim Witness")
    login(client, employee)
    with count_queries() as post:
        response = client.post(
            "/incidents/new",
            data=report(submission_token="once-padded-token-0001", witnesses=[str(witness.id)]),
        )
    assert response.status_code == 302
    written = [" ".join(s.split()).upper() for s in post.statements]
    assert len([s for s in written if s.startswith("INSERT INTO INCIDENT ")]) == 1
    updates = [s for s in written if s.startswith("UPDATE INCIDENT ")]
    assert len(updates) == 1 and re.match(r"UPDATE INCIDENT SET NUMBER=\S+ WHERE", updates[0])
    counter = next(i for i, s in enumerate(written) if s.startswith("INSERT INTO INCIDENT_NUMBER"))
    assert written[counter + 1] == updates[0]
    after = written[counter + 2 :]
    assert after and all(" INTO STAT_" in s for s in after), after
    # Its redirect needs only what was written: the incident is not read back after the commit.
    inserted = next(i for i, s in enumerate(written) if s.startswith("INSERT INTO INCIDENT "))
    assert not [s for s in written[inserted:] if s.startswith("SELECT INCIDENT.ID")]
    db.session.expire_all()
    incident = db.session.scalars(select(Incident)).one()
    assert incident.number == "2026-0001"
    assert incident.version == 2 and incident.updated_at is not None
    assert incident.level == 2 and incident.level_rule and incident.protocol_version
    assert incident.team_id == team.id
    assert [c.version for c in incident.changes] == [2]
    mails = db.session.scalars(select(Notification)).all()
    assert [(m.kind, m.recipient_id) for m in mails] == [("submitted", manager.id)]


def test_a_report_naming_more_colleagues_reads_no_more(
    client, app, make_user, make_team, count_queries, frozen
):
    """The accounts a report names come with their teams and managers in one query: the
    protocol then plans a conversation with each witness, run by each one's own manager,
    without reading anything per colleague (only the rows it writes grow). Their incident
    pages, for the reporter and for the manager, run the same queries for one witness as
    for four."""
    manager = make_user(Role.MANAGER, name="Mia Manager")
    employee = make_user(Role.EMPLOYEE, team=make_team("Counter", manager=manager))
    witnesses = [
        make_user(team=make_team(f"Team {n}", manager=make_user(Role.MANAGER))) for n in range(4)
    ]
    managers = {w.id: w.team.manager_id for w in witnesses}
    login(client, employee)
    boss = login(app.test_client(), manager)
    counted = []
    for n, named in enumerate((list(managers)[:1], list(managers))):
        data = report(
            submission_token=f"named-{n}-padded-token-01", witnesses=[str(i) for i in named]
        )
        with count_queries() as post:
            response = client.post("/incidents/new", data=data)
        address = response.headers["Location"]
        with count_queries() as page:
            assert client.get(address).status_code == 200
        with count_queries() as managers_page:
            assert boss.get(address).status_code == 200
        reads = [s for s in post.statements if s.lstrip().upper().startswith("SELECT")]
        counted.append((len(reads), page.count, managers_page.count))
    assert counted[0] == counted[1]
    incident = db.session.scalars(select(Incident).order_by(Incident.id.desc())).first()
    assert incident is not None
    conversations = {
        s.subject_user_id: s.owner_id
        for s in incident.steps
        if s.subject_user_id not in (None, employee.id)
    }
    assert conversations == managers
