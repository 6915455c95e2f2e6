"""The HR import through the admin pages and the command line, on both databases: the dry run
writes nothing but its report, the confirmation applies exactly what it showed, a second run
of the same file changes nothing, bad lines are listed and do not stop the rest, and leavers'
and movers' open steps get a new owner.

Reading the file and planning its changes are tested without the app in
tests/unit/test_org_import.py; the speed (15,000 people) is measured in bench/org_import.py.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from incidents import services
from incidents.extensions import db
from incidents.models import (
    AccountSource,
    AftercareStep,
    AuditAction,
    AuditEvent,
    Channel,
    IncidentType,
    Notification,
    OrgImport,
    PasswordReset,
    Role,
    StepStatus,
    Team,
    TeamMembership,
    User,
)
from incidents.services import ReportData
from incidents.services import org_import as import_service
from incidents.services.org_import import planner
from tests.conftest import PASSWORD, form_errors

HEADER = "employee_number,email,name,team_code,team_name,parent_team_code,manager_employee_number"
PAGE = "/admin/import"


def csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def upload(client, content: bytes, filename: str = "export.csv"):
    """Post `content` as the file, the body built in memory (see test_conversations.upload)."""
    boundary = "----org-import-boundary"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f"{client.csrf_token()}\r\n"
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.post(
        f"{PAGE}/upload", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def dry_run(client, content: bytes) -> OrgImport:
    response = upload(client, content)
    assert response.status_code == 302, form_errors(response.text)
    run_id = int(response.headers["Location"].rsplit("/", 1)[1])
    db.session.expire_all()
    return db.session.get_one(OrgImport, run_id)


def confirm(client, record: OrgImport):
    return client.post(f"{PAGE}/{record.id}/apply", follow_redirects=True)


def snapshot() -> planner.Organisation:
    db.session.expire_all()
    return import_service.organisation(None)


def report_for(reporter, affected, token):
    return services.save_report(
        reporter,
        token,
        ReportData(
            occurred_at=datetime.now(UTC) - timedelta(hours=1),
            channel=Channel.COUNTER,
            types=[IncidentType.PHYSICAL],
            description="He pushed me.",
            affected_ids=[affected.id],
            witness_ids=[],
        ),
        submit=True,
    )


def with_code(team: Team, code: str) -> Team:
    """A team as an earlier import left it: with the HR system's code."""
    with services.transaction():
        db.session.get_one(Team, team.id).external_id = code
    return team


@pytest.fixture(autouse=True)
def instance_folder(app, tmp_path, monkeypatch):
    """Kept files go to a folder of the test's own, not the developer's instance folder."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, locale="en", name="Admin")


@pytest.fixture
def client_admin(login_as, admin):
    return login_as(admin)


# The organisation before the file below: two departments, a team, four people.


@pytest.fixture
def org(make_user, make_team):
    head = make_user(Role.MANAGER, name="Hanna Head", employee_number="100")
    boss = make_user(Role.MANAGER, name="Bert Boss", employee_number="200")
    social = with_code(make_team("Social", name_nl="Sociaal", manager=head), "SOC")
    work = with_code(make_team("Work", name_nl="Werk"), "WRK")
    north = with_code(make_team("North", name_nl="Noord", parent=social, manager=boss), "N")
    for user in (head, boss):
        services.update_user(
            None, user, email=user.email, name=user.name, role=user.role, team=social
        )
    anna = make_user(name="Anna", employee_number="1", team=north, email="anna@example.test")
    leaver = make_user(name="Lex Leaver", employee_number="2", team=north)
    typed = make_user(name="Tina Typed", team=north, email="tina@example.test")  # no number yet
    hr = make_user(Role.HR, name="Henk HR")  # never imported: stays
    return {
        "head": head,
        "boss": boss,
        "social": social,
        "work": work,
        "north": north,
        "anna": anna,
        "leaver": leaver,
        "typed": typed,
        "hr": hr,
    }


def organisation_file(org: dict[str, Any]) -> bytes:
    """Anna moves to a new team under Work, whose manager is new; Tina gets her number; Bert is
    renamed; Lex is not in the file; North now has Tina as manager; a bad line."""
    return csv(
        f"100,{org['head'].email},Hanna Head,SOC,Sociaal,,100",
        f"200,{org['boss'].email},Bert Boss-Berg,SOC,,,100",
        "1,anna@example.test,Anna,JOB,Jobs,WRK,300",
        "300,new.manager@example.test,Nina New,JOB,,WRK,300",
        "301,new.employee@example.test,Ned New,N,Noord,SOC,3",
        "3,tina@example.test,Tina Typed,N,,,3",
        "302,not-an-address,Bad Line,N,,,3",
        "303,work.head@example.test,Wim Work,WRK,Werk,,",
    )


def diff(before: planner.Organisation, after: planner.Organisation) -> dict[str, Any]:
    """What changed between two snapshots, in the terms of the dry-run report."""
    old_people = {p.id: p for p in before.people}
    old_teams = {t.id: t for t in before.teams}
    code: dict[int | None, str | None] = {t.id: t.code for t in after.teams}
    added, changed, moved, deactivated = set(), set(), set(), set()
    for p in after.people:
        was = old_people.get(p.id)
        if was is None:
            added.add((p.employee_number, p.name, p.email, code[p.team_id], p.role))
            continue
        for name in ("employee_number", "email", "name", "role", "active"):
            if getattr(was, name) != getattr(p, name) and not (name == "active" and not p.active):
                changed.add((p.employee_number, name, getattr(p, name)))
        if was.team_id != p.team_id:
            moved.add((p.employee_number, code[p.team_id]))
        if was.active and not p.active:
            deactivated.add(p.id)
    teams_added, reparented, managers = set(), set(), set()
    for t in after.teams:
        team_was = old_teams.get(t.id)
        parent = code.get(t.parent_id) if t.parent_id else None
        if team_was is None:
            teams_added.add((t.code, t.name_nl, parent))
            continue
        if team_was.parent_id != t.parent_id:
            reparented.add((t.code, parent))
        if team_was.manager_id != t.manager_id:
            managers.add((t.code, t.manager_id))
    return {
        "added": added,
        "changed": changed,
        "moved": moved,
        "deactivated": deactivated,
        "teams_added": teams_added,
        "reparented": reparented,
        "managers": managers,
    }


def expected(report: dict[str, Any], after: planner.Organisation) -> dict[str, Any]:
    """The same, as the dry run announced it."""
    by_number = {p.employee_number: p.id for p in after.people if p.employee_number}
    codes = {t.name_nl: t.code for t in after.teams}
    return {
        "added": {
            (e["number"], e["name"], e["email"], e["team_code"], e["role"])
            for e in report["people_added"]
        },
        "changed": {
            (e["number"], c["field"], c["new"])
            for e in report["people_changed"]
            for c in e["changes"]
        },
        "moved": {(e["number"], e["to_code"]) for e in report["people_moved"]},
        "deactivated": {e["id"] for e in report["people_deactivated"]},
        "teams_added": {
            (e["code"], e["name"], codes.get(e["parent"]) if e["parent"] else None)
            for e in report["teams_added"]
        },
        "reparented": {
            (e["code"], codes.get(e["to"]) if e["to"] else None) for e in report["teams_reparented"]
        },
        "managers": {
            (e["code"], by_number[c["new"].rsplit("(", 1)[1].rstrip(")")] if c["new"] else None)
            for e in report["teams_changed"]
            for c in e["changes"]
            if c["field"] == "manager" and e.get("id")
        },
    }


# The dry run and its confirmation.


def test_the_dry_run_writes_nothing_but_its_report(client_admin, admin, org, app):
    before = snapshot()
    audit_before = db.session.scalar(select(func.count(AuditEvent.id))) or 0
    record = dry_run(client_admin, organisation_file(org))
    assert snapshot() == before
    assert record.applied_at is None and record.actor_id == admin.id
    assert record.filename == "export.csv" and len(record.digest) == 64
    # One audit event more: the dry run's.
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert len(events) == audit_before + 1 and events[-1].action == AuditAction.IMPORT_DRY_RUN
    report = record.report
    assert report["counts"] == {"lines": 8, "accepted": 7, "refused": 1, "changes": 9}
    page = client_admin.get(f"{PAGE}/{record.id}").text
    assert "This is a dry run: nothing has changed yet." in page
    for shown in ("Nina New", "Ned New", "Lex Leaver", "Bert Boss-Berg", "Jobs", "Apply 9 changes"):
        assert shown in page
    assert "“not-an-address” is not a valid e-mail address." in page
    # The file is kept for the confirmation, readable by the app's user only.
    kept = Path(app.instance_path) / "org-imports" / f"{record.digest}.csv"
    assert kept.stat().st_mode & 0o077 == 0
    # The list of runs.
    listing = client_admin.get(PAGE).text
    assert f'href="/admin/import/{record.id}"' in listing and "Dry run" in listing
    row = listing.split(f'href="/admin/import/{record.id}"', 1)[1].split("</tr>", 1)[0]
    assert re.findall(r'<td [^>]*class="num">(\d+)</td>', row) == ["8", "1", "9"]


def test_the_applied_result_is_the_dry_run_and_a_second_run_changes_nothing(
    client_admin, admin, org, app
):
    content = organisation_file(org)
    before = snapshot()
    record = dry_run(client_admin, content)
    page = confirm(client_admin, record).text
    assert "The import was applied." in page
    after = snapshot()
    assert diff(before, after) == expected(record.report, after)
    # And what the file says is now what the app has.
    db.session.expire_all()
    people = {u.employee_number: u for u in db.session.scalars(select(User)) if u.employee_number}
    teams = {t.external_id: t for t in db.session.scalars(select(Team)) if t.external_id}
    assert people["1"].team is teams["JOB"] and teams["JOB"].parent is teams["WRK"]
    assert teams["JOB"].manager is people["300"] and people["300"].role is Role.MANAGER
    assert people["300"].source is AccountSource.IMPORT and people["301"].role is Role.EMPLOYEE
    assert teams["N"].manager is people["3"] and people["3"] == db.session.get(
        User, org["typed"].id
    )
    assert people["3"].role is Role.MANAGER
    assert teams["N"].name_nl == "Noord" and teams["N"].name_en == "North"
    assert not people["2"].active and org["hr"].active and admin.active
    assert people["200"].name == "Bert Boss-Berg"
    assert "302" not in people  # the bad line
    # Nobody got a link to set a password: they sign in through single sign-on.
    assert db.session.scalar(select(func.count(PasswordReset.id))) == 0
    assert people["301"].password_hash.startswith("$argon2id$")
    # The membership history follows, as for every change of team.
    open_membership = db.session.scalars(
        select(TeamMembership).where(
            TeamMembership.user_id == people["1"].id, TeamMembership.until.is_(None)
        )
    ).all()
    assert [m.team_id for m in open_membership] == [teams["JOB"].id]
    # The audit trail names the import in every event it wrote.
    db.session.refresh(record)
    assert record.applied_at is not None
    actions = {
        (e.action, e.object_id)
        for e in db.session.scalars(select(AuditEvent).where(AuditEvent.actor_id == admin.id))
        if e.details.get("import_id") == record.id
    }
    assert (AuditAction.USER_CREATE, people["300"].id) in actions
    assert (AuditAction.USER_DEACTIVATE, people["2"].id) in actions
    assert (AuditAction.TEAM_CREATE, teams["JOB"].id) in actions
    assert (AuditAction.USER_TEAM_ROLE, people["300"].id) in actions
    assert db.session.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.action == AuditAction.IMPORT_APPLY)
    )
    # The kept file is gone once applied.
    assert not (Path(app.instance_path) / "org-imports" / f"{record.digest}.csv").exists()

    again = dry_run(client_admin, content)
    assert again.report["counts"]["changes"] == 0
    assert again.report["counts"]["refused"] == 1
    for key in ("people_added", "people_changed", "people_moved", "people_deactivated"):
        assert again.report[key] == [], key
    for key in ("teams_added", "teams_changed", "teams_reparented", "teams_losing_manager"):
        assert again.report[key] == [], key
    assert "The file changes nothing" in client_admin.get(f"{PAGE}/{again.id}").text


def test_a_first_import_builds_the_organisation_and_the_second_changes_nothing(client_admin, app):
    rows = ["1,boss@example.test,Boss,TOP,Municipality,,1"]
    for team_number in range(5):
        manager = 10 + team_number * 10
        for n in range(manager, manager + 5):
            rows.append(
                f"{n},p{n}@example.test,P {n},T{team_number},Team {team_number},TOP,{manager}"
            )
    content = csv(*rows)
    record = dry_run(client_admin, content)
    assert record.report["counts"] == {"lines": 26, "accepted": 26, "refused": 0, "changes": 32}
    confirm(client_admin, record)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(User.id)).where(User.role == Role.MANAGER)) == 6
    assert db.session.scalar(select(func.count(Team.id)).where(Team.parent_id.is_not(None))) == 5
    assert dry_run(client_admin, content).report["counts"]["changes"] == 0


def test_bad_lines_are_listed_with_the_reason_and_do_not_stop_the_rest(client_admin, make_user):
    make_user(email="taken@example.test", employee_number="99")
    content = csv(
        "1,a@example.test,Anna,T,Team,,",
        ",b@example.test,No Number,T,,,",
        "1,c@example.test,Twice,T,,,",
        "4,taken@example.test,Taken,T,,,",
        "5,e@example.test,Unknown team,NEW,,,",
        "6,f@example.test,Other manager,T,,,9",
        "7,g@example.test,Other manager again,T,,,8",
        "8,h@example.test,Cycle,C1,Cee,C1,",
        "too,few",
    )
    record = dry_run(client_admin, content)
    page = client_admin.get(f"{PAGE}/{record.id}").text
    table = page.split('<caption class="visually-hidden">Refused lines</caption>', 1)[1]
    rows = re.findall(
        r'<th[^>]* scope="row">(\d+)</th><td[^>]*><code>.*?</code></td><td[^>]*>(.*?)</td>', table
    )
    assert [(int(n), reason) for n, reason in rows] == [
        (3, "The column “employee_number” is empty."),
        (4, "The same employee number as line 2; only that line is used."),
        (5, "Another account uses the e-mail address taken@example.test."),
        (6, "Team NEW is not in the app, and no line gives its name."),
        (8, "Line 7 gives team T another manager: 9."),
        (9, "Team C1 would be placed under itself: C1 &gt; C1."),
        (10, "Expected 7 values, as in the header, found 2."),
    ]
    confirm(client_admin, record)
    db.session.expire_all()
    active = db.session.scalars(select(User).where(User.active, User.employee_number.is_not(None)))
    assert {u.employee_number for u in active} == {"1", "6"}


def test_the_organisation_changed_after_the_dry_run(client_admin, org):
    record = dry_run(client_admin, organisation_file(org))
    services.update_user(
        None, org["anna"], email="anna.new@example.test", name="Anna", role=Role.EMPLOYEE, team=None
    )
    before = snapshot()
    page = confirm(client_admin, record).text
    assert "The organisation changed after this dry run, so nothing was applied." in page
    assert snapshot() == before
    db.session.expire_all()
    newer = db.session.scalars(select(OrgImport).order_by(OrgImport.id.desc())).first()
    assert newer is not None and newer.id != record.id and newer.applied_at is None
    assert db.session.get_one(OrgImport, record.id).applied_at is None
    # The new dry run can be confirmed.
    assert "The import was applied." in confirm(client_admin, newer).text


def test_an_import_is_applied_once(client_admin, org):
    record = dry_run(client_admin, organisation_file(org))
    confirm(client_admin, record)
    after = snapshot()
    page = confirm(client_admin, record).text
    assert "This import was applied already." in page
    assert snapshot() == after
    assert "Apply" not in client_admin.get(f"{PAGE}/{record.id}").text.split("key-figures")[1]


def test_a_dry_run_whose_file_is_gone_is_uploaded_again(client_admin, org, app):
    record = dry_run(client_admin, organisation_file(org))
    (Path(app.instance_path) / "org-imports" / f"{record.digest}.csv").unlink()
    before = snapshot()
    assert "is no longer kept" in confirm(client_admin, record).text
    assert snapshot() == before


def test_a_file_changed_on_disk_is_not_applied(client_admin, org, app):
    record = dry_run(client_admin, organisation_file(org))
    kept = Path(app.instance_path) / "org-imports" / f"{record.digest}.csv"
    kept.write_text(kept.read_text() + "999,x@example.test,X,N,,,\n")
    before = snapshot()
    assert "is no longer kept" in confirm(client_admin, record).text
    assert snapshot() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"name,email\nAnna,a@example.test\n",
            "The first line must name the columns. Not found: employee_number, team_code",
        ),
        (b"\xff\xfe not utf-8", "The file is not UTF-8 text."),
        (b"   \n", "The file is empty."),
        (HEADER.encode() + b"\n", "The file has no lines below the header."),
    ],
    ids=["header", "encoding", "empty", "no-lines"],
)
def test_a_file_that_cannot_be_used_is_refused_next_to_the_field(client_admin, content, message):
    response = upload(client_admin, content)
    assert response.status_code == 200
    assert form_errors(response.text) == ["file"]
    assert message in response.text
    assert db.session.scalar(select(func.count(OrgImport.id))) == 0


def test_a_file_over_the_limit(client_admin, monkeypatch):
    monkeypatch.setattr(import_service, "MAX_UPLOAD_BYTES", 1024)
    response = upload(client_admin, csv(*[f"{n},p{n}@example.test,P,T,Team,," for n in range(100)]))
    assert form_errors(response.text) == ["file"]
    assert "The file is larger than" in response.text


def test_the_column_headers_are_configurable(client_admin, app, monkeypatch):
    headers = ["Personeelsnummer", "E-mail", "Naam", "Code", "Afdeling", "Boven", "Chef"]
    dutch = dict(zip(import_service.FIELDS, headers, strict=True))
    monkeypatch.setitem(app.config, "IMPORT_COLUMNS", dutch)
    assert "Personeelsnummer" in client_admin.get(PAGE).text
    record = dry_run(
        client_admin,
        b"Naam;E-mail;Personeelsnummer;Code;Afdeling;Boven;Chef\nAnna;a@example.test;1;T;Team;;\n",
    )
    assert [e["name"] for e in record.report["people_added"]] == ["Anna"]


def test_the_report_as_csv_is_safe_to_open(client_admin):
    record = dry_run(client_admin, csv("1,a@example.test,=HYPERLINK(1),T,@Team,,", "2,bad,+x,T,,,"))
    response = client_admin.get(f"{PAGE}/{record.id}/report.csv")
    assert (
        response.headers["Content-Disposition"] == f'attachment; filename="import-{record.id}.csv"'
    )
    text = response.text
    assert "'=HYPERLINK(1)" in text and "'@Team" in text
    assert "\n=" not in text and ",=" not in text and ",@" not in text


def test_the_report_shows_the_first_entries_and_the_csv_all(client_admin, monkeypatch):
    from incidents.admin import org_import as views

    monkeypatch.setattr(views, "SHOWN", 3)
    record = dry_run(client_admin, csv(*[f"{n},p{n}@example.test,P{n},T,Team,," for n in range(5)]))
    page = client_admin.get(f"{PAGE}/{record.id}").text
    assert "Only the first 3 of 5 are shown" in page and "P2" in page and "P4" not in page
    assert "P4" in client_admin.get(f"{PAGE}/{record.id}/report.csv").text


def test_many_leavers_are_a_warning(client_admin, make_user):
    for n in range(12):
        make_user(employee_number=f"L{n}")
    record = dry_run(client_admin, csv("1,a@example.test,Anna,T,Team,,"))
    page = client_admin.get(f"{PAGE}/{record.id}").text
    assert "This file would deactivate 12 people. Is the export complete?" in page


def test_the_admin_is_never_deactivated_by_their_own_import(login_as, make_user):
    admin = make_user(Role.ADMIN, locale="en", employee_number="77")
    client = login_as(admin)
    record = dry_run(client, csv("1,a@example.test,Anna,T,Team,,"))
    page = client.get(f"{PAGE}/{record.id}").text
    assert "is not in the file but stays active" in page
    confirm(client, record)
    db.session.refresh(admin)
    assert admin.active


# Leavers and movers: their open steps get the owner now in line.


def test_open_steps_of_leavers_and_movers_get_a_new_owner(client_admin, make_user, make_team):
    boss = make_user(Role.MANAGER, name="Boss", employee_number="10")
    deputy = make_user(Role.MANAGER, name="Deputy", employee_number="11")
    head = make_user(Role.MANAGER, name="Head", employee_number="12")
    department = with_code(make_team("Department", manager=head), "DEP")
    income = with_code(make_team("Income", parent=department, manager=boss, deputy=deputy), "INC")
    front = with_code(make_team("Front", parent=department), "FRO")
    victim = make_user(name="Victim", employee_number="20", team=income)
    mover = make_user(name="Mover", employee_number="21", team=income)
    for user in (boss, deputy):
        services.update_user(
            None, user, email=user.email, name=user.name, role=Role.MANAGER, team=department
        )
    services.update_user(
        None, head, email=head.email, name=head.name, role=Role.MANAGER, team=department
    )
    report_for(victim, victim, "import-leaver-one-padded-token")
    report_for(mover, mover, "import-mover-one-padded-token")
    assert {s.owner_id for s in db.session.scalars(select(AftercareStep))} == {boss.id}
    # Boss leaves (not in the file); the mover goes to Front, whose manager is the deputy.
    content = csv(
        f"11,{deputy.email},Deputy,DEP,,,12",
        f"12,{head.email},Head,DEP,Department,,12",
        f"20,{victim.email},Victim,INC,Income,DEP,",
        f"21,{mover.email},Mover,FRO,Front,DEP,11",
    )
    record = dry_run(client_admin, content)
    assert [e["name"] for e in record.report["teams_losing_manager"]] == ["Income"]
    confirm(client_admin, record)
    db.session.expire_all()
    steps = db.session.scalars(
        select(AftercareStep).where(AftercareStep.status == StepStatus.OPEN)
    ).all()
    assert steps and all(s.owner_id is not None for s in steps)
    owners = {(s.subject_user_id, s.owner_id) for s in steps if s.subject_user_id}
    # Income has no manager now: its deputy has the victim's; the mover's follow to Front.
    assert owners == {(victim.id, deputy.id), (mover.id, deputy.id)}
    mover_steps = [s for s in steps if s.subject_user_id == mover.id]
    assert {s.team_id for s in mover_steps} == {front.id}
    assert db.session.scalars(
        select(Notification).where(Notification.kind == "aftercare_moved")
    ).all()
    assert db.session.scalars(
        select(Notification).where(
            Notification.kind == "assigned", Notification.recipient_id == deputy.id
        )
    ).all()
    event = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == AuditAction.USER_DEACTIVATE, AuditEvent.object_id == boss.id
        )
    ).one()
    assert event.details["steps_handed_over"] > 0
    assert not db.session.get_one(User, boss.id).active


# The command line.


def test_the_command_prints_the_dry_run_and_applies_with_apply(app, tmp_path, make_user):
    make_user(employee_number="9", name="Gone")
    path = tmp_path / "export.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv("1,a@example.test,Anna,T,Team,,1", "2,bad,B,T,,,"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-org", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 refused, 3 changes" in result.output
    assert "refused line 3: “bad” is not a valid e-mail address." in result.output
    assert "people deactivated: number 9; name Gone" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count(User.id)).where(User.employee_number == "1")) == 0
    result = runner.invoke(args=["import-org", str(path), "--apply"])
    assert result.exit_code == 0, result.output
    assert "(applied " in result.output
    db.session.expire_all()
    anna = db.session.scalars(select(User).where(User.employee_number == "1")).one()
    assert anna.role is Role.MANAGER and anna.team is not None and anna.team.manager is anna
    runs = db.session.scalars(select(OrgImport).order_by(OrgImport.id)).all()
    assert [r.applied_at is not None for r in runs] == [False, True]
    assert all(r.actor_id is None for r in runs)
    result = runner.invoke(args=["import-org", str(path)])
    assert "0 changes" in result.output


def test_the_command_refuses_an_unusable_file(app, tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(b"nothing,useful\n")
    result = app.test_cli_runner().invoke(args=["import-org", str(path)])
    assert result.exit_code == 1
    assert "The first line must name the columns" in result.output
    path.write_bytes(b"\xff\xfe")
    assert (
        "is not UTF-8 text" in app.test_cli_runner().invoke(args=["import-org", str(path)]).output
    )


def test_an_imported_account_has_no_password_anyone_knows(client_admin, app):
    record = dry_run(client_admin, csv("1,a@example.test,Anna,T,Team,,"))
    confirm(client_admin, record)
    fresh = app.test_client()
    for password in (PASSWORD, "", record.digest):
        response = fresh.post("/login", data={"email": "a@example.test", "password": password})
        assert response.status_code in (200, 400), response.status_code
        assert fresh.get("/").status_code == 302


def test_the_import_page_counts_its_queries(client_admin, count_queries, make_user):
    for n in range(3):
        dry_run(client_admin, csv(f"{n},p{n}@example.test,P,T,Team,,"))
    with count_queries() as first:
        client_admin.get(PAGE)
    for n in range(3, 9):
        dry_run(client_admin, csv(f"{n},p{n}@example.test,P,T,Team,,"))
    with count_queries() as later:
        client_admin.get(PAGE)
    assert later.count == first.count


def test_kept_files_expire(client_admin, org, app, monkeypatch):
    record = dry_run(client_admin, organisation_file(org))
    kept = Path(app.instance_path) / "org-imports" / f"{record.digest}.csv"
    old = kept.stat().st_mtime - (import_service.KEEP_HOURS + 1) * 3600
    os.utime(kept, (old, old))
    assert "is no longer kept" in confirm(client_admin, record).text
    dry_run(client_admin, csv("1,a@example.test,Anna,T,Team,,"))  # tidies up expired files
    assert not kept.exists()
