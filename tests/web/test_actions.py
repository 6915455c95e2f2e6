"""Corrective actions: created from a team evaluation, changed, closed, reviewed, cancelled;
bad input per field (the message next to the field, nothing stored); every role on every
action route; the works council's overview without any incident detail, and its CSV file;
a stale form; two closings at once; the yearly counts.

Messages are not matched by their words (their Dutch arrives with the catalogue): a refusal
is recognised by its field, its status and by nothing being stored."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from incidents import services
from incidents.extensions import db
from incidents.models import (
    ActionState,
    AuditEvent,
    CorrectiveAction,
    Role,
    StepStatus,
    User,
)
from incidents.services import InvalidInput, ServiceError, actions
from tests.conftest import form_errors, login
from tests.web.action_helpers import WHAT, evaluation, fresh, new_action
from tests.web.measure_helpers import TODAY, submit
from tests.web.test_races import race, result_for


def action_count() -> int:
    return db.session.scalar(select(func.count(CorrectiveAction.id))) or 0


def audited(action: str) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).filter_by(action=action)) or 0


def form(what: str = WHAT, owner: str = "", due: str = "", risk: str = "") -> dict[str, str]:
    return {"what": what, "owner": owner, "due_on": due, "risk_item": risk}


# --- creating ----------------------------------------------------------------------------------


def test_an_action_comes_out_of_the_team_evaluation_also_once_it_is_recorded(
    app, action_org, march_10
):
    org = action_org
    incident = submit(org)
    step = evaluation(incident)
    assert (step.team_id, step.owner_id) == (org["income"].id, org["boss"].id)
    boss = login(app.test_client(), org["boss"])
    page = boss.get(f"/aftercare/steps/{step.id}")
    assert page.status_code == 200 and f'action="/actions/new/{step.id}"' in page.text
    # The meeting was held: the step is recorded, and actions come out of it afterwards.
    services.aftercare.complete_step(org["boss"], step, result_for(step), 0)
    assert fresh_step_status(step.id) == StepStatus.DONE
    due = (TODAY + timedelta(days=14)).isoformat()
    response = boss.post(
        f"/actions/new/{step.id}", data=form(owner=org["facility"].email, due=due, risk="RI&E 4.2")
    )
    assert response.status_code == 302
    action = db.session.scalars(select(CorrectiveAction)).one()
    assert (action.team_id, action.step_id, action.owner_id) == (
        org["income"].id,
        step.id,
        org["facility"].id,
    )
    assert (action.state, action.due_on, action.risk_item) == (
        ActionState.OPEN,
        TODAY + timedelta(days=14),
        "RI&E 4.2",
    )
    assert audited("action.create") == 1
    page = boss.get(f"/aftercare/steps/{step.id}")
    assert WHAT in page.text and "RI&amp;E 4.2" in page.text


def fresh_step_status(step_id: int) -> StepStatus:
    from incidents.models import AftercareStep

    db.session.expire_all()
    return db.session.get_one(AftercareStep, step_id).status


def test_only_a_team_evaluation_takes_actions(app, action_org, march_10):
    org = action_org
    incident = submit(org)
    other = next(s for s in incident.steps if s.kind != evaluation(incident).kind)
    boss = login(app.test_client(), org["boss"])
    assert boss.get(f"/actions/new/{other.id}").status_code == 404
    page = boss.get(f"/aftercare/steps/{other.id}")
    assert "/actions/new/" not in page.text
    with pytest.raises(ServiceError):
        actions.create(
            org["boss"],
            other.id,
            actions.ActionInput(WHAT, org["facility"].id, TODAY + timedelta(days=3)),
        )
    assert action_count() == 0


BAD_INPUT = [
    ("what", form(what="")),
    ("what", form(what="Te kort")),
    ("what", form(what="x" * 301)),
    ("owner", form(owner="")),
    ("owner", form(owner="nobody@example.test")),
    ("owner", form(owner="not an address")),
    ("owner", form(owner="inactive")),
    ("due_on", form(due="")),
    ("due_on", form(due="yesterday")),
    ("due_on", form(due="31-02-2026")),
    ("due_on", form(due="far")),
    ("risk_item", form(risk="r" * 101)),
]


@pytest.mark.parametrize(
    ("field", "data"), BAD_INPUT, ids=[f"{f}-{i}" for i, (f, _d) in enumerate(BAD_INPUT)]
)
def test_bad_input_is_refused_next_to_its_field_and_nothing_is_stored(
    app, action_org, march_10, make_user, field, data
):
    org = action_org
    step = evaluation(submit(org))
    data = dict(data)
    if data["owner"] == "":
        data["owner"] = org["facility"].email if field != "owner" else ""
    elif data["owner"] == "inactive":
        gone = make_user(name="Gone")
        services.set_active(None, gone, False)
        data["owner"] = gone.email
    if data["due_on"] == "" and field != "due_on":
        data["due_on"] = (TODAY + timedelta(days=7)).isoformat()
    data["due_on"] = {
        "yesterday": (TODAY - timedelta(days=1)).isoformat(),
        "far": (TODAY + timedelta(days=800)).isoformat(),
    }.get(data["due_on"], data["due_on"])
    response = login(app.test_client(), org["boss"]).post(f"/actions/new/{step.id}", data=data)
    assert response.status_code == 200  # the form again, as the measures' form does
    assert form_errors(response.text) == [field]
    assert action_count() == 0 and audited("action.create") == 0


def test_a_deadline_today_is_allowed(app, action_org, march_10):
    org = action_org
    action = new_action(org, due_on=TODAY)
    assert action.due_on == TODAY


# --- changing, closing, reviewing, cancelling ---------------------------------------------------


def test_closing_needs_what_was_done_and_a_day_not_in_the_future(app, action_org, march_10):
    org = action_org
    action = new_action(org)
    fay = login(app.test_client(), org["facility"])
    for data, field in [
        ({"revision": "0", "done_on": TODAY.isoformat(), "done_note": ""}, "done_note"),
        ({"revision": "0", "done_on": TODAY.isoformat(), "done_note": "n" * 301}, "done_note"),
        ({"revision": "0", "done_on": "", "done_note": "Deur geplaatst."}, "done_on"),
        (
            {
                "revision": "0",
                "done_on": (TODAY + timedelta(days=1)).isoformat(),
                "done_note": "Deur geplaatst.",
            },
            "done_on",
        ),
        (
            {
                "revision": "0",
                "done_on": (TODAY - timedelta(days=1)).isoformat(),
                "done_note": "Deur geplaatst.",
            },
            "done_on",
        ),
    ]:
        response = fay.post(f"/actions/{action.id}/close", data=data)
        assert response.status_code == 400 and form_errors(response.text) == [field], data
    assert fresh(action).state == ActionState.OPEN and fresh(action).revision == 0
    done = fay.post(
        f"/actions/{action.id}/close",
        data={"revision": "0", "done_on": TODAY.isoformat(), "done_note": "Deur geplaatst."},
    )
    assert done.status_code == 302
    action = fresh(action)
    assert (action.state, action.done_on, action.done_by_id) == (
        ActionState.DONE,
        TODAY,
        org["facility"].id,
    )
    assert action.review_due_on == date(2026, 6, 10)  # ACTION_REVIEW_MONTHS = 3
    assert audited("action.close") == 1


def test_the_review_comes_after_the_configured_months_not_before(app, action_org, march_10):
    org = action_org
    action = new_action(org)
    actions.close(org["facility"], action.id, 0, done_on=TODAY, note="Deur geplaatst.")
    with pytest.raises(ServiceError):  # an effect needs time to show
        actions.review(org["facility"], action.id, 1, result="worked", note="")
    page = login(app.test_client(), org["facility"]).get(f"/actions/{action.id}")
    assert 'name="review_result"' not in page.text
    march_10.move_to(datetime(2026, 6, 10, 7, 0, tzinfo=UTC))
    fay = login(app.test_client(), org["facility"])
    assert 'name="review_result"' in fay.get(f"/actions/{action.id}").text
    for data, field in [
        ({"revision": "1", "review_result": "", "review_note": ""}, "review_result"),
        ({"revision": "1", "review_result": "maybe", "review_note": ""}, "review_result"),
        ({"revision": "1", "review_result": "partly", "review_note": ""}, "review_note"),
        ({"revision": "1", "review_result": "did_not_work", "review_note": "x"}, "review_note"),
    ]:
        response = fay.post(f"/actions/{action.id}/review", data=data)
        assert response.status_code == 400 and form_errors(response.text) == [field], data
    assert fresh(action).state == ActionState.DONE
    ok = fay.post(
        f"/actions/{action.id}/review",
        data={"revision": "1", "review_result": "worked", "review_note": ""},
    )
    assert ok.status_code == 302
    action = fresh(action)
    assert (action.state, action.review_result) == (ActionState.REVIEWED, "worked")
    with pytest.raises(ServiceError):  # once
        actions.review(org["facility"], action.id, action.revision, result="partly", note="Later")


def test_changing_owner_and_deadline_and_cancelling(app, action_org, march_10, make_user):
    org = action_org
    action = new_action(org)
    boss = login(app.test_client(), org["boss"])
    past = boss.post(
        f"/actions/{action.id}/change",
        data={
            "revision": "0",
            "owner": org["facility"].email,
            "due_on": (TODAY - timedelta(days=1)).isoformat(),
        },
    )
    assert past.status_code == 400 and form_errors(past.text) == ["due_on"]
    unknown = boss.post(
        f"/actions/{action.id}/change",
        data={"revision": "0", "owner": "nobody@example.test", "due_on": TODAY.isoformat()},
    )
    assert unknown.status_code == 400 and form_errors(unknown.text) == ["owner"]
    assert fresh(action).revision == 0
    moved = boss.post(
        f"/actions/{action.id}/change",
        data={
            "revision": "0",
            "owner": org["hr"].email,
            "due_on": (TODAY + timedelta(days=30)).isoformat(),
        },
    )
    assert moved.status_code == 302
    action = fresh(action)
    assert (action.owner_id, action.due_on, action.revision) == (
        org["hr"].id,
        TODAY + timedelta(days=30),
        1,
    )
    assert audited("action.change") == 1
    # The old owner no longer sees it; the new one finds it on "My actions", from home.
    assert login(app.test_client(), org["facility"]).get(f"/actions/{action.id}").status_code == 404
    hr = login(app.test_client(), org["hr"])
    assert 'href="/actions/mine"' in hr.get("/").text
    assert WHAT in hr.get("/actions/mine").text
    # The owner does not move their own deadline or cancel (the one who set it does).
    refused = hr.post(
        f"/actions/{action.id}/cancel", data={"revision": "1", "cancel_reason": "Niet nodig."}
    )
    assert refused.status_code == 400 and fresh(action).is_open
    short = boss.post(f"/actions/{action.id}/cancel", data={"revision": "1", "cancel_reason": "x"})
    assert short.status_code == 400 and form_errors(short.text) == ["cancel_reason"]
    cancelled = boss.post(
        f"/actions/{action.id}/cancel", data={"revision": "1", "cancel_reason": "Het pand sluit."}
    )
    assert cancelled.status_code == 302
    assert fresh(action).state == ActionState.CANCELLED and audited("action.cancel") == 1
    with pytest.raises(ServiceError):
        actions.close(org["boss"], action.id, 2, done_on=TODAY, note="Toch gedaan.")


def test_a_stale_form_is_refused_with_a_message_and_changes_nothing(app, action_org, march_10):
    org = action_org
    action = new_action(org)
    actions.change(
        org["boss"],
        action.id,
        0,
        owner_id=org["facility"].id,
        due_on=TODAY + timedelta(days=10),
    )
    response = login(app.test_client(), org["facility"]).post(
        f"/actions/{action.id}/close",
        data={"revision": "0", "done_on": TODAY.isoformat(), "done_note": "Deur geplaatst."},
    )
    assert response.status_code == 400
    assert 'class="alert alert--error"' in response.text
    assert fresh(action).state == ActionState.OPEN


@pytest.mark.parametrize("revision", ["", "abc", "-1", "99999999999999999999", "1e3"])
def test_odd_revisions_are_refused_without_an_error(app, action_org, march_10, revision):
    org = action_org
    action = new_action(org)
    boss = login(app.test_client(), org["boss"])
    for route in ("change", "close", "review", "cancel"):
        response = boss.post(f"/actions/{action.id}/{route}", data={"revision": revision})
        assert response.status_code == 400, route
    assert fresh(action).state == ActionState.OPEN and fresh(action).revision == 0


# --- every role on every action -----------------------------------------------------------------

# Boss leads Income (Deputy stands in, Head above); Fay owns the action.
CLOSES = {"boss", "deputy", "head", "facility"}
MANAGES = {"boss", "deputy", "head"}
READS = {"hr", "admin", "council"}
EVERYONE = [
    "boss",
    "deputy",
    "head",
    "boss2",
    "facility",
    "victim",
    "witness",
    "officer",
    "counter",
    "hr",
    "admin",
    "council",
]


@pytest.mark.parametrize("who", EVERYONE)
def test_every_role_on_every_action_route(app, action_org, march_10, who):
    org = action_org
    incident = submit(org)
    action = new_action(org, incident)
    step = evaluation(incident)
    client = login(app.test_client(), org[who])
    sees = who in CLOSES | READS
    assert client.get(f"/actions/{action.id}").status_code == (200 if sees else 404)
    posts = {
        "change": {
            "owner": org["facility"].email,
            "due_on": (TODAY + timedelta(days=9)).isoformat(),
        },
        "cancel": {"cancel_reason": "Niet meer nodig."},
        "close": {"done_on": TODAY.isoformat(), "done_note": "Deur geplaatst."},
    }
    for route, data in posts.items():
        response = client.post(f"/actions/{action.id}/{route}", data={"revision": "0", **data})
        allowed = who in (MANAGES if route != "close" else CLOSES)
        if not sees:
            assert response.status_code == 404, route
        elif not allowed:
            assert response.status_code == 400, route
        if allowed:
            assert response.status_code == 302, route
            break  # the action changed: the next route would meet another state
    else:
        assert fresh(action).revision == 0 and fresh(action).is_open
    reviewing = client.post(f"/actions/{action.id}/review", data={"revision": "0"})
    assert reviewing.status_code == (400 if sees else 404)
    reads_all = who in READS
    assert client.get("/actions").status_code == (200 if reads_all else 404)
    assert client.get("/actions/export.csv").status_code == (200 if reads_all else 404)
    team_page = client.get(f"/actions/team/{org['income'].id}")
    assert team_page.status_code == (200 if who in MANAGES | READS else 404)
    new_page = client.get(f"/actions/new/{step.id}")
    # Managers only may enter (403 for others); of them, whoever may work on the step.
    expected = 200 if who in {"boss", "deputy"} else (404 if org[who].role == Role.MANAGER else 403)
    assert new_page.status_code == expected
    assert client.get("/actions/mine").status_code == 200
    assert ('href="/actions"' in client.get("/").text) == reads_all


def test_action_ids_that_do_not_exist_answer_404(app, action_org, march_10):
    org = action_org
    client = login(app.test_client(), org["admin"])
    assert client.get("/actions/999999").status_code == 404
    assert client.post("/actions/999999/close", data={"revision": "0"}).status_code == 404
    assert client.get("/actions/team/999999").status_code == 404


def test_a_works_council_member_who_leaves_sees_nothing(app, action_org, march_10):
    org = action_org
    action = new_action(org)
    client = login(app.test_client(), org["council"])
    council = db.session.get_one(User, org["council"].id)
    council.works_council = False
    db.session.commit()
    assert client.get("/actions").status_code == 404
    assert client.get(f"/actions/{action.id}").status_code == 404


# --- the works council's overview ---------------------------------------------------------------


def test_the_overview_shows_no_incident_detail(app, action_org, march_10):
    org = action_org
    incident = submit(org, perpetrator="Karel Geheim")
    new_action(org, incident, risk_item="RI&E 4.2")
    assert incident.number
    secrets = [
        incident.number,
        "Karel Geheim",
        "It happened.",
        org["victim"].name,
        org["witness"].name,
        f"/incidents/{incident.id}",
        "/aftercare/steps/",
    ]
    client = login(app.test_client(), org["council"])
    page = client.get("/actions")
    csv = client.get("/actions/export.csv")
    detail = client.get(f"/actions/{db.session.scalars(select(CorrectiveAction.id)).one()}")
    for text in (page.text, csv.text, detail.text):
        assert WHAT in text and "RI&" in text
        for secret in secrets:
            assert secret not in text, secret
    # The incident happened today; the overview shows deadlines only (a week on), no date of it.
    day = TODAY.strftime("%d-%m-%Y")
    assert day not in page.text and day not in csv.text
    assert "Fay Facility" in page.text and "Fay Facility" in csv.text
    assert csv.headers["Content-Type"].startswith("text/csv")


def test_the_overview_filters_by_state_and_team(app, action_org, march_10):
    org = action_org
    first = new_action(org, what="Een paniekknop bij de balie van de publiekshal.")
    new_action(org, what="Een bel in de spreekkamer die bij de beveiliging uitkomt.")
    actions.close(org["facility"], first.id, 0, done_on=TODAY, note="Knop geplaatst.")
    client = login(app.test_client(), org["hr"])
    done = client.get("/actions?state=done").text
    assert "paniekknop" in done and "bel in de spreekkamer" not in done
    other_team = client.get(f"/actions?team={org['enforcement'].id}").text
    assert "paniekknop" not in other_team and "spreekkamer" not in other_team
    for odd in ("?state=nonsense", "?team=abc", "?team=99999999999999999999", "?state=%00"):
        assert client.get("/actions" + odd).status_code == 200
        assert client.get("/actions/export.csv" + odd).status_code == 200
    assert "paniekknop" in client.get("/actions/export.csv?state=done").text


def test_csv_cells_cannot_start_a_formula(app, action_org, march_10):
    org = action_org
    new_action(org, what="=cmd|' /C calc'!A0 en een nieuwe deur", risk_item="@SUM(1+1)")
    csv = login(app.test_client(), org["admin"]).get("/actions/export.csv").text
    assert "'=cmd|" in csv and "'@SUM(1+1)" in csv
    assert "\n=cmd" not in csv and ",=cmd" not in csv and ",@SUM" not in csv


# --- the owner's inbox and the team's list -----------------------------------------------------


def test_open_actions_appear_in_the_managers_inbox_with_their_deadline(app, action_org, march_10):
    org = action_org
    action = new_action(org, owner="boss", due_on=TODAY + timedelta(days=1))
    boss = login(app.test_client(), org["boss"])
    inbox = boss.get("/aftercare").text
    assert WHAT in inbox and f'href="/actions/{action.id}"' in inbox
    assert f'href="/actions/team/{org["income"].id}"' in inbox
    badge_before = inbox.split('class="badge">', 1)[1].split("<", 1)[0]
    march_10.move_to(datetime(2026, 3, 12, 9, 0, tzinfo=UTC))
    inbox = login(app.test_client(), org["boss"]).get("/aftercare").text
    assert "overdue-flag" in inbox.split("my-actions-heading", 1)[1]
    actions.close(org["boss"], action.id, 0, done_on=date(2026, 3, 12), note="Gedaan.")
    after = login(app.test_client(), org["boss"]).get("/aftercare").text
    assert WHAT not in after.split("my-actions-heading", 1)[1]
    badge_after = after.split('class="badge">', 1)[1].split("<", 1)[0]
    assert int(badge_before) == int(badge_after) + 1  # the open action counted in the menu
    team = login(app.test_client(), org["deputy"]).get(f"/actions/team/{org['income'].id}").text
    assert WHAT in team


# --- the account flag ----------------------------------------------------------------------------


def test_an_admin_gives_the_works_council_flag_and_it_is_audited(app, action_org, march_10):
    org = action_org
    person = org["victim"]
    admin = login(app.test_client(), org["admin"])
    response = admin.post(
        f"/admin/users/{person.id}/edit",
        data={
            "name": person.name,
            "email": person.email,
            "role": "employee",
            "team": str(org["income"].id),
            "works_council": "y",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get_one(User, person.id).works_council
    event = db.session.scalars(
        select(AuditEvent).filter_by(action="user.update", object_id=person.id)
    ).one()
    assert event.details["fields"] == ["works_council"]
    assert login(app.test_client(), person).get("/actions").status_code == 200


# --- two at once ---------------------------------------------------------------------------------


def closing(user_id: int, action_id: int):
    """A job for `race`: read the action's revision, wait for the other, close it."""

    def job(wait):
        user = db.session.get_one(User, user_id)
        revision = db.session.get_one(CorrectiveAction, action_id).revision
        wait()
        return actions.close(
            user, action_id, revision, done_on=TODAY, note=f"Gedaan door {user_id}."
        )

    return job


def test_two_closings_at_once_give_one(app, action_org, march_10):
    org = action_org
    for _round in range(3):
        action = new_action(org)
        ids = [org["facility"].id, org["boss"].id]
        results = race(app, *(closing(i, action.id) for i in ids))
        refused = [r for r in results if isinstance(r, ServiceError)]
        assert len(refused) == 1, results
        assert not isinstance(refused[0], InvalidInput)
        action = fresh(action)
        assert action.state == ActionState.DONE
        assert action.done_note == f"Gedaan door {action.done_by_id}."
    assert audited("action.close") == 3


# --- the yearly report's counts -----------------------------------------------------------------


def test_year_counts(app, action_org, march_10):
    org = action_org
    on_time = new_action(org, due_on=TODAY + timedelta(days=5))
    late = new_action(org, due_on=TODAY)
    new_action(org, due_on=TODAY + timedelta(days=2))  # stays open, past its deadline at the end
    cancelled = new_action(org, due_on=TODAY + timedelta(days=1))
    actions.cancel(org["boss"], cancelled.id, 0, reason="Niet meer nodig.")
    actions.close(org["facility"], on_time.id, 0, done_on=TODAY, note="Op tijd gedaan.")
    march_10.move_to(datetime(2026, 3, 20, 9, 0, tzinfo=UTC))
    actions.close(org["facility"], late.id, 0, done_on=date(2026, 3, 20), note="Te laat gedaan.")
    march_10.move_to(datetime(2026, 6, 11, 9, 0, tzinfo=UTC))
    actions.review(org["facility"], on_time.id, 1, result="worked", note="")
    counts = actions.year_counts(date(2026, 1, 1), date(2027, 1, 1))
    assert counts == {
        "created": 4,
        "completed": 2,
        "completed_on_time": 1,
        "reviewed_worked": 1,
        "reviewed_partly": 0,
        "reviewed_did_not_work": 0,
        "open_overdue_at_end": 1,
    }
    assert actions.year_counts(date(2025, 1, 1), date(2026, 1, 1)) == dict.fromkeys(counts, 0)
    # At the end of March the late one was done, the open one overdue; nothing reviewed yet.
    march = actions.year_counts(date(2026, 3, 1), date(2026, 4, 1))
    assert march["open_overdue_at_end"] == 1 and march["reviewed_worked"] == 0
    assert actions.year_counts(date(2026, 3, 1), date(2026, 3, 11))["open_overdue_at_end"] == 1
