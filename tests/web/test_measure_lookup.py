"""The lookup at the counter: only with the front-office permission, only measures in force
today and only what the counter needs, at most ten lines, bad searches refused with nothing
stored, every lookup recorded; the privacy officer's counts per team and month; and the
admin's checkboxes for the front-office and security-officer permissions."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from incidents import services
from incidents.extensions import db
from incidents.models import AuditAction, AuditEvent, MeasureLookup, Role, User
from incidents.privacy import overview
from incidents.services import ServiceError, measure_lookup, measures, scim_tokens
from tests.conftest import form_errors, login
from tests.web.measure_helpers import NOW, REASON, TODAY, approve, in_force, propose, submit

PAGE = "/measures/lookup"


def english(user: User) -> User:
    """The new strings are not in the Dutch catalogue yet: these tests read them in English."""
    with services.transaction():
        db.session.get_one(User, user.id).locale = "en"
    return user


def counter(app, staff):
    return login(app.test_client(), english(staff["counter"]))


def look_up(client, text: str):
    return client.post(PAGE, data={"query": text})


def lines(html: str) -> list[str]:
    """The result's lines, as text."""
    found = re.findall(r"<li>(.*?)</li>", html.split('class="lookup-lines"', 1)[-1], re.S)
    if 'class="lookup-lines"' not in html:
        return []
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", line)).strip() for line in found]


def lookups_recorded() -> tuple[int, int]:
    """(audit events of lookups, MeasureLookup rows)."""
    db.session.expire_all()
    events = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == AuditAction.MEASURE_LOOKUP)
    )
    rows = db.session.scalar(select(func.count()).select_from(MeasureLookup))
    return events or 0, rows or 0


# --- who may look up ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["victim", "witness", "boss", "deputy", "hr", "admin", "officer"])
def test_without_the_front_office_permission_the_lookup_does_not_exist(app, staff, march_10, who):
    in_force(staff)
    client = login(app.test_client(), staff[who])
    assert client.get(PAGE).status_code == 404
    assert look_up(client, "Jan Jansen").status_code == 404
    assert lookups_recorded() == (0, 0)
    assert PAGE not in client.get("/").text  # neither in the menu nor on the home page
    with pytest.raises(ServiceError):
        measure_lookup.look_up(staff[who], "Jan Jansen", "en")
    assert lookups_recorded() == (0, 0)


@pytest.mark.parametrize("role", list(Role))
def test_with_the_permission_every_role_may_look_up(app, make_user, march_10, role):
    user = make_user(role, front_office=True)
    client = login(app.test_client(), user)
    page = client.get(PAGE)
    assert page.status_code == 200
    home = client.get("/").text
    assert f'href="{PAGE}"' in home
    assert look_up(client, "Nobody Known").status_code == 200
    assert lookups_recorded() == (1, 1)


def test_a_deactivated_front_office_employee_cannot_look_up(app, staff, march_10):
    in_force(staff)
    client = counter(app, staff)
    assert client.get(PAGE).status_code == 200
    services.set_active(staff["admin"], staff["counter"], False)
    assert look_up(client, "Jan Jansen").status_code != 200
    db.session.refresh(staff["counter"])
    with pytest.raises(ServiceError):
        measure_lookup.look_up(staff["counter"], "Jan Jansen", "en")
    assert lookups_recorded() == (0, 0)


def test_the_search_is_never_in_the_address_and_a_post_needs_csrf(app, staff, march_10):
    in_force(staff)
    client = counter(app, staff)
    page = client.get(f"{PAGE}?query=Jan+Jansen")
    assert page.status_code == 200 and "Jan Jansen" not in page.text
    assert '<form method="post"' in page.text
    refused = client.post(PAGE, data={"query": "Jan Jansen"}, csrf=False)
    assert refused.status_code == 400 and "Jan Jansen" not in lines(refused.text)
    assert lookups_recorded() == (0, 0)
    assert look_up(client, "Jan Jansen").headers["Cache-Control"] == "no-store"


# --- what it finds ---------------------------------------------------------------------------------


def test_it_finds_by_whole_reference_and_by_part_of_the_name(app, staff, march_10):
    measure = in_force(staff)
    client = counter(app, staff)
    expected = (
        "Jan Jansen K-1001 Measure in force until "
        f"{measure.ends_on.strftime('%d/%m/%Y')}: Conversations only with two colleagues present."
    )
    for text in ("K-1001", "k-1001", "  K-1001 ", "jans", "JAN JANSEN", "an  jan"):
        page = look_up(client, text)
        assert page.status_code == 200, text
        assert lines(page.text) == [expected], text
    for text in ("K-100", "1001", "Piet"):  # a reference matches whole, a name in part
        page = look_up(client, text)
        assert lines(page.text) == [], text
        assert "No measure in force for" in page.text


def test_case_and_accents_are_ignored(app, staff, march_10):
    in_force(staff, submit(staff, perpetrator="Émile Zoë Brontë", reference="R-77"))
    client = counter(app, staff)
    for text in ("zoe bronte", "ÉMILE", "Emile zoë", "brontë"):
        assert [line.split(" Measure")[0] for line in lines(look_up(client, text).text)] == [
            "Émile Zoë Brontë R-77"
        ], text


def test_in_dutch_the_rule_and_the_date_read_in_dutch(app, staff, march_10):
    measure = in_force(staff)
    client = login(app.test_client(), staff["counter"])  # Dutch, the default
    (line,) = lines(look_up(client, "jansen").text)
    assert measure.ends_on.strftime("%d-%m-%Y") in line
    assert "Gesprekken alleen met twee collega's aanwezig." in line.replace("&#39;", "'")


def test_typed_wildcards_are_literal(app, staff, march_10):
    in_force(staff)
    in_force(staff, submit(staff, perpetrator="Kees 100%_Zeker", reference="Z%1"))
    client = counter(app, staff)
    for text in ("j%n", "_an", "%an%", "ja_", "k__s"):
        assert lines(look_up(client, text).text) == [], text
    assert len(lines(look_up(client, "100%_z").text)) == 1
    assert len(lines(look_up(client, "Z%1").text)) == 1
    assert lines(look_up(client, "Z_1").text) == []


def test_only_measures_in_force_today_are_shown(app, staff, march_10):
    incident = submit(staff)
    # Proposed, never approved.
    propose(staff, incident, citizen_name="Piet Proposed", citizen_reference="P-1")
    # Withdrawn.
    withdrawn = propose(staff, incident, citizen_name="Wim Withdrawn", citizen_reference="P-2")
    measures.close(staff["officer"], withdrawn.id, withdrawn.revision, "Not needed after all.")
    # Approved, starting next week.
    approve(
        staff,
        propose(
            staff,
            incident,
            citizen_name="Frits Future",
            citizen_reference="P-3",
            starts_on=TODAY + timedelta(days=7),
        ),
    )
    # Ended early.
    early = in_force(staff, incident, citizen_name="Eddy Early", citizen_reference="P-4")
    db.session.refresh(early)
    measures.close(staff["boss"], early.id, early.revision, "He apologised in person.")
    # In force for five days: the last one is 14 March.
    short = in_force(staff, incident, days=5, citizen_name="Kort Durend", citizen_reference="P-5")
    assert short.ends_on == TODAY + timedelta(days=4)
    client = counter(app, staff)
    for text in ("Piet Proposed", "P-1", "Wim", "P-2", "Frits", "P-3", "Eddy", "P-4"):
        assert lines(look_up(client, text).text) == [], text
    assert len(lines(look_up(client, "kort").text)) == 1
    # The last day it is in force, then the day after: gone, with no daily run in between.
    with time_machine.travel(NOW + timedelta(days=4), tick=False):
        client = counter(app, staff)  # a session of that day
        assert len(lines(look_up(client, "P-5").text)) == 1
    with time_machine.travel(NOW + timedelta(days=5), tick=False):
        client = counter(app, staff)
        assert lines(look_up(client, "P-5").text) == []
        assert lines(look_up(client, "kort durend").text) == []
        assert lines(look_up(client, "Frits").text) == []  # starts in two days
    with time_machine.travel(NOW + timedelta(days=7), tick=False):
        client = counter(app, staff)
        assert len(lines(look_up(client, "Frits").text)) == 1  # by itself, on its start date


def test_never_the_incident_the_reason_or_who_proposed_or_approved(app, staff, march_10):
    incident = submit(staff)
    in_force(staff, incident)
    # An earlier measure for the same citizen, ended: no history either.
    old = in_force(staff, incident, kind="written_contact", reason="Schreeuwde door de hal heen.")
    db.session.refresh(old)
    measures.close(staff["boss"], old.id, old.revision, "Replaced by another measure.")
    client = counter(app, staff)
    page = look_up(client, "Jan Jansen").text
    assert len(lines(page)) == 1
    for secret in (
        REASON,
        "Schreeuwde",
        "Replaced by another",
        incident.number,
        "Boss",
        "Officer",
        "Victim",
        "Witness",
        "not at the counter",  # the ended measure's rule
        f"/measures/{old.id}",
        f"/incidents/{incident.id}",
    ):
        assert secret not in page, secret
    result = page.split('class="card lookup-result"', 1)[1].split("</section>", 1)[0]
    assert "<a " not in result  # no link to the measure or its incidents


def test_several_measures_for_one_citizen_one_line_each_and_the_contact_person(
    app, staff, march_10
):
    incident = submit(staff)
    in_force(staff, incident)
    in_force(staff, incident, kind="contact_person", contact_person_id=staff["witness"].id)
    client = counter(app, staff)
    shown = lines(look_up(client, "K-1001").text)
    assert len(shown) == 2
    assert any("Conversations only with two colleagues present." in line for line in shown)
    (contact,) = [line for line in shown if "named contact person" in line]
    assert "Contact person: Witness." in contact


def test_at_most_ten_lines_and_a_message_to_type_more(app, staff, march_10):
    incident = submit(staff)
    made = [
        in_force(staff, incident, citizen_name=f"Klaas Kwaad {n:02d}", citizen_reference=f"KK-{n}")
        for n in range(12)
    ]
    client = counter(app, staff)
    page = look_up(client, "klaas kwaad").text
    shown = lines(page)
    assert len(shown) == 10
    assert [line.split(" KK-")[0] for line in shown] == [f"Klaas Kwaad {n:02d}" for n in range(10)]
    assert "More than 10 measures match: type more" in page
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.MEASURE_LOOKUP)
    ).one()
    assert event.details == {"matches": 10, "measures": [m.id for m in made[:10]]}
    one = look_up(client, "klaas kwaad 11").text
    assert len(lines(one)) == 1 and "More than" not in one


# --- bad searches --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Type at least 3 characters"),
        ("   ", "Type at least 3 characters"),
        ("ja", "Type at least 3 characters"),
        (" ja ", "Type at least 3 characters"),
        ("\u00a0ja\t", "Type at least 3 characters"),  # any white space is trimmed
        ("%%%", "wildcards and punctuation alone find nothing"),
        ("_ _", "wildcards and punctuation alone find nothing"),
        ("***", "wildcards and punctuation alone find nothing"),
        ("???", "wildcards and punctuation alone find nothing"),
        ("%_*?.-", "wildcards and punctuation alone find nothing"),
        ("x" * 201, "Type at most 200 characters"),
    ],
)
def test_a_bad_search_is_refused_next_to_the_field_and_nothing_is_stored(
    app, staff, march_10, text, message
):
    in_force(staff)
    client = counter(app, staff)
    page = look_up(client, text)
    assert page.status_code == 200  # the form again, as every form here
    assert form_errors(page.text) == ["query"]
    error = page.text.split('id="query-error">', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert 'class="lookup-result' not in page.text
    assert lookups_recorded() == (0, 0)


def test_the_search_is_echoed_escaped(app, staff, march_10):
    client = counter(app, staff)
    page = look_up(client, "<b>Jan</b>").text
    assert "<b>Jan</b>" not in page
    assert "No measure in force for “&lt;b&gt;Jan&lt;/b&gt;”." in page


# --- every lookup is recorded -------------------------------------------------------------------


def test_every_lookup_is_recorded_without_what_was_typed(app, staff, march_10):
    measure = in_force(staff)
    client = counter(app, staff)
    look_up(client, "Jan Jansen")
    look_up(client, "Nobody Known")
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == AuditAction.MEASURE_LOOKUP)
        .order_by(AuditEvent.id)
    ).all()
    assert [e.details for e in events] == [
        {"matches": 1, "measures": [measure.id]},
        {"matches": 0, "measures": []},
    ]
    assert all(e.actor_id == staff["counter"].id for e in events)
    recorded = json.dumps([[e.details, e.object_type, e.object_id] for e in events]).lower()
    assert "jan" not in recorded and "nobody" not in recorded
    rows = db.session.scalars(select(MeasureLookup).order_by(MeasureLookup.id)).all()
    assert [(r.user_id, r.team_id, r.matches, r.at) for r in rows] == [
        (staff["counter"].id, staff["income"].id, 1, NOW),
        (staff["counter"].id, staff["income"].id, 0, NOW),
    ]


def test_the_team_recorded_is_the_team_at_the_time(app, staff, march_10):
    client = counter(app, staff)
    look_up(client, "Jan Jansen")
    user = staff["counter"]
    services.update_user(
        staff["admin"],
        user,
        email=user.email,
        name=user.name,
        role=user.role,
        team=staff["enforcement"],
    )
    look_up(client, "Jan Jansen")
    teams = db.session.scalars(select(MeasureLookup.team_id).order_by(MeasureLookup.id)).all()
    assert teams == [staff["income"].id, staff["enforcement"].id]


def test_the_audit_trail_shows_the_lookup_in_words(app, staff, march_10):
    measure = in_force(staff)
    look_up(counter(app, staff), "Jan Jansen")
    admin = login(app.test_client(), english(staff["admin"]))
    page = admin.get("/admin/audit").text
    assert "Looked up measures at the counter" in page
    assert "Measures shown: 1" in page and f"Measures: {measure.id}" in page


# --- the privacy officer's counts ---------------------------------------------------------------


def lookup_table(html: str) -> dict[str, list[int]]:
    """The table "Lookups at the counter": row header -> the twelve months and the total."""
    section = html.split('id="t-lookups"', 1)[1].split("</section>", 1)[0]
    table: dict[str, list[int]] = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", section, re.S):
        header = re.search(r'<th scope="row">(.*?)</th>', row)
        if header:
            table[header.group(1)] = [int(n) for n in re.findall(r'class="num">(\d+)<', row)]
    return table


def test_the_privacy_overview_counts_lookups_per_team_and_month(app, staff, make_user):
    # Lookups by the counter (Income), someone in Enforcement and someone without a team.
    other = make_user(name="Other Counter", team=staff["enforcement"], front_office=True)
    loose = make_user(name="Loose Counter", front_office=True)
    at = {
        "income": [
            datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
            datetime(2026, 3, 20, 15, 0, tzinfo=UTC),
            # 1 April, 00:30 in Amsterdam: April, not March.
            datetime(2026, 3, 31, 22, 30, tzinfo=UTC),
            datetime(2026, 12, 31, 22, 59, tzinfo=UTC),  # 23:59 on 31 December
            datetime(2025, 12, 31, 22, 30, tzinfo=UTC),  # 2025 still in Amsterdam
            datetime(2026, 12, 31, 23, 30, tzinfo=UTC),  # 2027 in Amsterdam
        ],
        "enforcement": [datetime(2026, 4, 15, 9, 0, tzinfo=UTC)],
        "none": [datetime(2026, 3, 5, 9, 0, tzinfo=UTC)],
    }
    who = {"income": staff["counter"], "enforcement": other, "none": loose}
    for team, moments in at.items():
        for moment in moments:
            with time_machine.travel(moment, tick=False):
                client = login(app.test_client(), who[team])  # a session of that moment
                assert look_up(client, "Someone").status_code == 200
    assert lookups_recorded() == (8, 8)
    with time_machine.travel(datetime(2027, 1, 20, 9, 0, tzinfo=UTC), tick=False):
        admin = login(app.test_client(), english(staff["admin"]))
        page_2026 = admin.get("/admin/privacy?year=2026").text
        table = lookup_table(page_2026)
        last_year = lookup_table(admin.get("/admin/privacy?year=2025").text)
        this_year = lookup_table(admin.get("/admin/privacy?year=2027").text)

    def months(counts: dict[int, int]) -> list[int]:
        """The twelve months (by number) and the total."""
        values = [counts.get(month, 0) for month in range(1, 13)]
        return [*values, sum(values)]

    assert table == {
        "Enforcement": months({4: 1}),
        "Income": months({3: 2, 4: 1, 12: 1}),
        "No team": months({3: 1}),
        "Total": months({3: 3, 4: 2, 12: 1}),
    }
    assert last_year == {"Income": months({12: 1}), "Total": months({12: 1})}
    assert this_year == {"Income": months({1: 1}), "Total": months({1: 1})}
    assert "Exact counts, not anonymised" in page_2026


def test_the_privacy_overview_says_when_nobody_looked_up(app, staff):
    admin = login(app.test_client(), english(staff["admin"]))
    page = admin.get("/admin/privacy?year=2026").text
    assert "Nobody looked up a measure at the counter in 2026." in page


def test_the_lookup_counts_take_one_query_and_one_for_the_team_names(
    app, make_user, make_team, count_queries
):
    for n in range(5):
        user = make_user(team=make_team(f"Team {n}"), front_office=True)
        with services.transaction():
            db.session.add(MeasureLookup(user_id=user.id, team_id=user.team_id, matches=0))
    with count_queries() as counted:
        result = overview.counter_lookups(datetime.now(UTC).year, "en")
    assert result.total == 5 and [t.team for t in result.teams] == [f"Team {n}" for n in range(5)]
    assert counted.count == 2


# --- the permissions on the admin's form ----------------------------------------------------------


def edit_data(user: User, **overrides: str) -> dict[str, str]:
    data = {
        "name": user.name,
        "email": user.email,
        "role": user.role.value,
        "team": str(user.team_id or 0),
    }
    data.update(overrides)
    return data


def update_events(user: User) -> list[list[str]]:
    db.session.expire_all()
    return [
        e.details["fields"]
        for e in db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == AuditAction.USER_UPDATE, AuditEvent.object_id == user.id)
            .order_by(AuditEvent.id)
        )
    ]


def test_the_admin_sets_and_clears_the_permissions_and_it_is_audited(app, staff):
    admin = login(app.test_client(), english(staff["admin"]))
    person = staff["witness"]
    form = admin.get(f"/admin/users/{person.id}/edit").text
    assert "Front office: may look up measures in force at the counter" in form
    assert "Security officer: approves measures against perpetrators" in form
    assert 'name="front_office"' in form and 'name="security_officer"' in form

    saved = admin.post(
        f"/admin/users/{person.id}/edit",
        data=edit_data(person, front_office="y", security_officer="y"),
    )
    assert saved.status_code == 302, form_errors(saved.text)
    db.session.expire_all()
    person = db.session.get_one(User, person.id)
    assert person.front_office and person.security_officer
    assert update_events(person) == [["front_office", "security_officer"]]
    listing = admin.get("/admin/users").text
    row = listing.split(f'/admin/users/{person.id}/edit"', 1)[1].split("</tr>", 1)[0]
    assert '<span class="tag">front office</span>' in row
    assert '<span class="tag">security officer</span>' in row
    edit = admin.get(f"/admin/users/{person.id}/edit").text
    assert re.search(r'<input [^>]*checked[^>]*name="front_office"', edit), "shown as set"

    # Unchecked boxes are not sent: that clears them.
    cleared = admin.post(f"/admin/users/{person.id}/edit", data=edit_data(person))
    assert cleared.status_code == 302
    db.session.expire_all()
    person = db.session.get_one(User, person.id)
    assert not person.front_office and not person.security_officer
    assert update_events(person)[-1] == ["front_office", "security_officer"]
    # Saving again without a change: no event.
    admin.post(f"/admin/users/{person.id}/edit", data=edit_data(person))
    assert len(update_events(person)) == 2
    audit = admin.get("/admin/audit").text
    assert "front office (lookup at the counter), security officer" in audit


@pytest.mark.parametrize("flag", ["front_office", "security_officer"])
def test_an_admin_does_not_give_themselves_a_permission(app, staff, make_user, flag):
    me = staff["admin"]
    admin = login(app.test_client(), english(me))
    page = admin.post(f"/admin/users/{me.id}/edit", data=edit_data(me, **{flag: "y"}))
    assert page.status_code == 200 and form_errors(page.text) == [flag]
    assert "Another administrator must change this permission" in page.text
    db.session.expire_all()
    assert not getattr(db.session.get_one(User, me.id), flag)
    assert update_events(me) == []
    # Another admin may.
    other = login(app.test_client(), make_user(Role.ADMIN))
    assert (
        other.post(f"/admin/users/{me.id}/edit", data=edit_data(me, **{flag: "y"})).status_code
        == 302
    )
    db.session.expire_all()
    assert getattr(db.session.get_one(User, me.id), flag)


def test_a_new_account_may_get_the_permissions(app, staff):
    admin = login(app.test_client(), staff["admin"])
    response = admin.post(
        "/admin/users/new",
        data={
            "name": "Fenna Front",
            "email": "fenna@example.test",
            "role": "employee",
            "team": str(staff["income"].id),
            "front_office": "y",
        },
    )
    assert response.status_code == 302, form_errors(response.text)
    user = db.session.scalar(select(User).where(User.email == "fenna@example.test"))
    assert user is not None and user.front_office and not user.security_officer
    event = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == AuditAction.USER_CREATE, AuditEvent.object_id == user.id
        )
    ).one()
    assert event.details["front_office"] is True and "security_officer" not in event.details


def test_the_directory_and_the_hr_import_leave_the_permissions_alone(app, staff):
    """SCIM and the HR import change accounts through `update_user` without the flags."""
    from tests.web.test_org_import import csv, dry_run
    from tests.web.test_scim import Scim

    person = staff["counter"]
    person.security_officer = True
    person.employee_number = "4711"
    staff["income"].external_id = "INC"
    db.session.commit()
    # The directory renames them.
    scim = Scim(app, scim_tokens.create(staff["admin"], "Entra ID").secret)
    patched = scim.patch(
        f"/Users/{person.id}", {"op": "Replace", "path": "displayName", "value": "Cora Counter"}
    )
    assert patched.status_code == 200, patched.get_data(as_text=True)
    # The HR import moves them to another team.
    admin = login(app.test_client(), staff["admin"])
    record = dry_run(admin, csv(f"4711,{person.email},Cora Counter,ENF,Enforcement,,"))
    applied = admin.post(f"/admin/import/{record.id}/apply", follow_redirects=True)
    assert applied.status_code == 200
    db.session.expire_all()
    person = db.session.get_one(User, person.id)
    assert person.name == "Cora Counter"
    assert person.team is not None and person.team.external_id == "ENF"
    assert person.front_office and person.security_officer
