"""The register of measures: the states and the approval rules, the hearing, ending and
extending, bad input, who may see and do what (every role on every measure route), and two
approvals at once. Refusals are matched in Dutch, the organisation's language."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from incidents import notify
from incidents.extensions import db
from incidents.models import AuditEvent, Measure, MeasureState, Notification, User
from incidents.rules.loader import MAX_MEASURE_DAYS
from incidents.services import InvalidInput, ServiceError, measures
from tests.conftest import form_errors, login
from tests.web.measure_helpers import REASON, TODAY, approve, in_force, propose, submit
from tests.web.test_races import race


def fresh(measure: Measure) -> Measure:
    db.session.expire_all()
    found = db.session.get(Measure, measure.id)
    assert found is not None
    return found


def measure_count() -> int:
    return db.session.scalar(select(func.count(Measure.id))) or 0


def audited(action: str) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).filter_by(action=action)) or 0


# --- the mail to those who may approve -------------------------------------------------------


def test_a_proposal_is_mailed_to_those_who_may_approve_it(app, staff, march_10):
    measure = propose(staff, submit(staff, perpetrator="Karel Geheim"))
    notes = db.session.scalars(
        select(Notification).where(Notification.kind == "measure_proposed")
    ).all()
    assert sorted(n.recipient_id for n in notes) == sorted(
        [staff["officer"].id, staff["deputy"].id]
    )
    with app.test_request_context():
        mail = notify.compose(notes[0])
    assert f"/measures/{measure.id}" in mail.text
    assert "Karel Geheim" not in mail.text and REASON not in mail.text


# --- states and approvals ---------------------------------------------------------------------


def test_a_proposal_takes_effect_only_when_a_second_person_approves(app, staff, march_10):
    measure = propose(staff, submit(staff))
    assert measure.state == MeasureState.PROPOSED
    assert not measure.in_force_on(TODAY)
    with pytest.raises(ServiceError, match="een ander keurt hem goed"):
        measures.approve(staff["boss"], measure.id, measure.revision)
    assert fresh(measure).revision == 0  # nothing stored
    approve(staff, measure)
    measure = fresh(measure)
    assert measure.state == MeasureState.IN_FORCE and measure.in_force_on(TODAY)
    assert (measure.proposed_by_id, measure.approved_by_id) == (
        staff["boss"].id,
        staff["officer"].id,
    )
    assert audited("measure.propose") == 1 and audited("measure.approve") == 1


@pytest.mark.parametrize("approver", ["officer", "deputy"])
def test_a_security_officer_or_another_manager_who_sees_it_approves(app, staff, march_10, approver):
    measure = approve(staff, propose(staff, submit(staff)), by=approver)
    assert fresh(measure).state == MeasureState.IN_FORCE


@pytest.mark.parametrize("approver", ["boss2", "head", "victim", "hr", "admin", "counter"])
def test_others_may_not_approve(app, staff, march_10, approver):
    measure = propose(staff, submit(staff))
    with pytest.raises(ServiceError):
        approve(staff, measure, by=approver)
    assert fresh(measure).state == MeasureState.PROPOSED


def test_longer_than_the_maximum_needs_two_approvers_besides_the_proposer(app, staff, march_10):
    kind = app.extensions["protocol"].measure_kind("two_colleagues")
    measure = propose(staff, submit(staff), days=kind.max_days + 1)
    assert measures.approvals_missing(measure) == 2
    approve(staff, measure, by="officer")
    measure = fresh(measure)
    assert measure.state == MeasureState.PROPOSED and measures.approvals_missing(measure) == 1
    with pytest.raises(ServiceError, match="al goed"):
        approve(staff, measure, by="officer")
    approve(staff, measure, by="deputy")
    measure = fresh(measure)
    assert measure.state == MeasureState.IN_FORCE
    assert measure.second_approved_by_id == staff["deputy"].id


def test_exactly_the_maximum_needs_one_approval(app, staff, march_10):
    kind = app.extensions["protocol"].measure_kind("two_colleagues")
    measure = approve(staff, propose(staff, submit(staff), days=kind.max_days))
    assert fresh(measure).state == MeasureState.IN_FORCE


def test_a_building_ban_is_approved_only_after_the_hearing(app, staff, march_10):
    measure = propose(staff, submit(staff), kind="building_ban")
    with pytest.raises(ServiceError, match="eerst vast dat de burger is gehoord"):
        approve(staff, measure)
    measure = fresh(measure)
    measures.record_hearing(
        staff["boss"],
        measure.id,
        measure.revision,
        heard_on=TODAY,
        how="phone",
        not_heard_reason="",
    )
    approve(staff, measure)
    measure = fresh(measure)
    assert measure.state == MeasureState.IN_FORCE
    assert (measure.heard_on, measure.heard_how) == (TODAY, "phone")
    with pytest.raises(
        ServiceError, match="voordat de maatregel wordt goedgekeurd"
    ):  # a hearing comes before the decision
        measures.record_hearing(
            staff["boss"],
            measure.id,
            measure.revision,
            heard_on=TODAY,
            how="phone",
            not_heard_reason="",
        )


def test_why_the_citizen_could_not_be_heard_counts_as_the_hearing_record(app, staff, march_10):
    measure = propose(staff, submit(staff), kind="building_ban")
    measures.record_hearing(
        staff["boss"],
        measure.id,
        0,
        heard_on=None,
        how="",
        not_heard_reason="Geen adres bekend, niet bereikbaar.",
    )
    approve(staff, measure)
    assert fresh(measure).state == MeasureState.IN_FORCE


@pytest.mark.parametrize(
    ("heard_on", "how", "reason", "field"),
    [
        (None, "", "", "heard_on"),
        (TODAY + timedelta(days=1), "phone", "", "heard_on"),
        (TODAY, "", "", "heard_how"),
        (TODAY, "carrier pigeon", "", "heard_how"),
        (TODAY, "phone", "Niet bereikbaar geweest.", "not_heard_reason"),
        (None, "", "kort", "not_heard_reason"),
    ],
)
def test_a_wrong_hearing_record_is_refused_by_field(
    app, staff, march_10, heard_on, how, reason, field
):
    measure = propose(staff, submit(staff), kind="building_ban")
    with pytest.raises(InvalidInput) as refused:
        measures.record_hearing(
            staff["boss"], measure.id, 0, heard_on=heard_on, how=how, not_heard_reason=reason
        )
    assert field in refused.value.errors
    assert fresh(measure).revision == 0


def test_a_measure_starting_later_is_approved_then_in_force_on_its_start(app, staff, march_10):
    start = TODAY + timedelta(days=7)
    measure = approve(staff, propose(staff, submit(staff), starts_on=start))
    measure = fresh(measure)
    assert measure.state == MeasureState.APPROVED
    assert measure.state_on(TODAY) == MeasureState.APPROVED
    assert measure.state_on(start) == MeasureState.IN_FORCE
    assert measure.state_on(measure.ends_on + timedelta(days=1)) == MeasureState.ENDED


def test_approved_late_it_starts_on_the_day_of_approval(app, staff, march_10):
    measure = propose(staff, submit(staff), days=30)
    march_10.shift(timedelta(days=3))
    approve(staff, measure)
    measure = fresh(measure)
    assert measure.starts_on == TODAY + timedelta(days=3)
    assert measure.ends_on == TODAY + timedelta(days=29)  # the end date stays


def test_a_proposal_whose_end_date_passed_cannot_be_approved(app, staff, march_10):
    measure = propose(staff, submit(staff), days=2)
    march_10.shift(timedelta(days=5))
    with pytest.raises(ServiceError, match="einddatum is voorbij"):
        approve(staff, measure)


def test_withdrawing_and_ending(app, staff, march_10):
    proposal = propose(staff, submit(staff))
    measures.close(staff["officer"], proposal.id, 0, "Niet nodig, afgesproken met de teamleider.")
    assert fresh(proposal).state == MeasureState.WITHDRAWN
    with pytest.raises(ServiceError):
        approve(staff, proposal)

    measure = in_force(staff)
    march_10.shift(timedelta(days=10))
    measure = fresh(measure)
    measures.close(staff["boss"], measure.id, measure.revision, "Bezwaar gegrond verklaard.")
    measure = fresh(measure)
    assert measure.state == MeasureState.ENDED
    assert measure.ends_on == TODAY + timedelta(days=9)  # yesterday: not in force today
    assert not measure.in_force_on(TODAY + timedelta(days=10))
    assert measure.closed_by_id == staff["boss"].id
    with pytest.raises(ServiceError, match="al beëindigd"):
        measures.close(staff["boss"], measure.id, measure.revision, "Nog een keer beëindigen.")
    assert audited("measure.withdraw") == 1 and audited("measure.end") == 1


@pytest.mark.parametrize("reason", ["", "kort", "x" * 301])
def test_ending_needs_a_reason(app, staff, march_10, reason):
    measure = in_force(staff)
    with pytest.raises(ServiceError) as refused:
        measures.close(staff["boss"], measure.id, fresh(measure).revision, reason)
    assert refused.value.field == "reason"
    assert fresh(measure).state == MeasureState.IN_FORCE


def test_an_extension_is_a_new_proposal_from_the_day_after(app, staff, march_10):
    measure = fresh(in_force(staff, days=30))
    extension = measures.propose(
        staff["boss"],
        measures.Proposal(
            kind="ignored",
            citizen_name="ignored",
            citizen_reference="",
            reason="Opnieuw gedreigd na de eerste maatregel.",
            starts_on=measure.ends_on + timedelta(days=1),
            ends_on=measure.ends_on + timedelta(days=60),
        ),
        extends=measure,
    )
    assert extension.state == MeasureState.PROPOSED
    assert (extension.kind, extension.citizen_name) == (measure.kind, measure.citizen_name)
    assert [i.id for i in extension.incidents] == [i.id for i in measure.incidents]
    assert extension.extends_id == measure.id
    with pytest.raises(ServiceError, match="al een verlenging"):
        measures.propose(
            staff["boss"],
            measures.Proposal(
                kind="",
                citizen_name="",
                citizen_reference="",
                reason="Nog een verlenging erbij.",
                starts_on=measure.ends_on + timedelta(days=1),
                ends_on=measure.ends_on + timedelta(days=30),
            ),
            extends=measure,
        )
    approve(staff, extension)
    assert fresh(extension).state == MeasureState.APPROVED


def test_the_notice_sent_is_recorded_after_approval(app, staff, march_10):
    measure = propose(staff, submit(staff))
    with pytest.raises(ServiceError, match="als de maatregel is goedgekeurd"):
        measures.record_notice_sent(staff["boss"], measure.id, 0, sent_on=TODAY, how="post")
    approve(staff, measure)
    measure = fresh(measure)
    with pytest.raises(InvalidInput) as refused:
        measures.record_notice_sent(
            staff["boss"],
            measure.id,
            measure.revision,
            sent_on=TODAY + timedelta(days=1),
            how="fax",
        )
    assert set(refused.value.errors) == {"sent_on", "sent_how"}
    measures.record_notice_sent(
        staff["boss"], measure.id, measure.revision, sent_on=TODAY, how="post"
    )
    measure = fresh(measure)
    assert (measure.notice_sent_on, measure.notice_sent_how) == (TODAY, "post")
    assert measure.notice_sent_by_id == staff["boss"].id


def test_a_stale_form_is_refused(app, staff, march_10):
    measure = propose(staff, submit(staff), kind="building_ban")
    measures.record_hearing(
        staff["boss"], measure.id, 0, heard_on=TODAY, how="phone", not_heard_reason=""
    )
    with pytest.raises(ServiceError, match="intussen"):
        measures.approve(staff["officer"], measure.id, 0)  # opened before the hearing
    assert fresh(measure).state == MeasureState.PROPOSED


# --- the form: bad input ------------------------------------------------------------------------


def form(incident, **values: Any) -> dict[str, Any]:
    data = {
        "kind": "two_colleagues",
        "citizen_name": "Jan Jansen",
        "citizen_reference": "K-1001",
        "incidents": incident.number,
        "reason": REASON,
        "starts_on": TODAY.isoformat(),
        "ends_on": (TODAY + timedelta(days=89)).isoformat(),
    }
    data.update(values)
    return data


def test_proposing_through_the_form(app, staff, march_10):
    incident = submit(staff)
    client = login(app.test_client(), staff["boss"])
    page = client.get(f"/measures/new?incident={incident.number}")
    assert 'value="Jan Jansen"' in page.text and 'value="K-1001"' in page.text
    response = client.post("/measures/new", data=form(incident))
    assert response.status_code == 302
    measure = db.session.scalars(select(Measure)).one()
    assert measure.citizen_name == "Jan Jansen" and measure.state == MeasureState.PROPOSED
    assert response.headers["Location"].endswith(f"/measures/{measure.id}")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"ends_on": (TODAY - timedelta(days=1)).isoformat()}, "ends_on"),
        ({"ends_on": ""}, "ends_on"),
        ({"ends_on": (TODAY + timedelta(days=MAX_MEASURE_DAYS)).isoformat()}, "ends_on"),
        ({"starts_on": (TODAY - timedelta(days=1)).isoformat()}, "starts_on"),
        ({"starts_on": ""}, "starts_on"),
        ({"incidents": ""}, "incidents"),
        ({"incidents": "2026-9999"}, "incidents"),
        ({"incidents": "not a number"}, "incidents"),
        ({"citizen_name": "J"}, "citizen_name"),
        ({"citizen_name": "x" * 201}, "citizen_name"),
        ({"citizen_reference": "x" * 101}, "citizen_reference"),
        ({"reason": "kort"}, "reason"),
        ({"reason": "x" * 301}, "reason"),
        ({"kind": "cameras"}, "kind"),
        ({"kind": "contact_person"}, "contact_person"),
        ({"kind": "contact_person", "contact_person": "nobody@example.test"}, "contact_person"),
        ({"kind": "contact_person", "contact_person": "not an address"}, "contact_person"),
        ({"starts_on": "2026-13-45"}, "starts_on"),
    ],
)
def test_bad_input_is_told_next_to_its_field_and_nothing_is_stored(
    app, staff, march_10, values, field
):
    incident = submit(staff)
    client = login(app.test_client(), staff["boss"])
    response = client.post("/measures/new", data=form(incident, **values))
    assert response.status_code == 200
    assert field in form_errors(response.text), form_errors(response.text)
    assert measure_count() == 0
    assert audited("measure.propose") == 0


def test_an_incident_of_another_team_reads_as_one_that_does_not_exist(app, staff, march_10):
    incident = submit(staff)
    client = login(app.test_client(), staff["boss2"])
    mine = client.post("/measures/new", data=form(incident))
    missing = client.post("/measures/new", data=form(incident, incidents="2026-9999"))
    assert "incidents" in form_errors(mine.text) and "incidents" in form_errors(missing.text)

    def told(html: str, number: str) -> str:
        message = re.search(r'<p class="error" id="incidents-error">(.*?)</p>', html, re.S)
        assert message is not None
        return message[1].replace(number, "N")

    assert told(mine.text, incident.number or "") == told(missing.text, "2026-9999")
    assert measure_count() == 0


def test_a_named_contact_person(app, staff, march_10):
    incident = submit(staff)
    client = login(app.test_client(), staff["boss"])
    response = client.post(
        "/measures/new",
        data=form(incident, kind="contact_person", contact_person=staff["counter"].email),
    )
    assert response.status_code == 302
    assert db.session.scalars(select(Measure)).one().contact_person_id == staff["counter"].id


def test_the_form_actions_on_the_page(app, staff, march_10):
    measure = propose(staff, submit(staff), kind="building_ban")
    boss = login(app.test_client(), staff["boss"])
    bad = boss.post(f"/measures/{measure.id}/hearing", data={"revision": "0", "heard_on": ""})
    assert bad.status_code == 400 and "heard_on" in form_errors(bad.text)
    ok = boss.post(
        f"/measures/{measure.id}/hearing",
        data={"revision": "0", "heard_on": TODAY.isoformat(), "heard_how": "in_person"},
    )
    assert ok.status_code == 302
    officer = login(app.test_client(), staff["officer"])
    stale = officer.post(f"/measures/{measure.id}/approve", data={"revision": "0"})
    assert stale.status_code == 400 and fresh(measure).state == MeasureState.PROPOSED
    assert (
        officer.post(f"/measures/{measure.id}/approve", data={"revision": "1"}).status_code == 302
    )
    assert fresh(measure).state == MeasureState.IN_FORCE
    sent = boss.post(
        f"/measures/{measure.id}/notice-sent",
        data={"revision": "2", "sent_on": TODAY.isoformat(), "sent_how": "hand"},
    )
    assert sent.status_code == 302
    short = boss.post(
        f"/measures/{measure.id}/extend", data={"revision": "3", "extension_reason": "kort"}
    )
    assert short.status_code == 400 and measure_count() == 1
    assert {"ends_on", "extension_reason"} <= set(form_errors(short.text))
    extend = boss.post(
        f"/measures/{measure.id}/extend",
        data={
            "revision": "3",
            "ends_on": (fresh(measure).ends_on + timedelta(days=30)).isoformat(),
            "extension_reason": "Opnieuw gedreigd aan de telefoon.",
        },
    )
    assert extend.status_code == 302 and measure_count() == 2
    end = boss.post(f"/measures/{measure.id}/close", data={"revision": "3", "reason": "Klaar."})
    assert end.status_code == 302 and fresh(measure).state == MeasureState.ENDED


@pytest.mark.parametrize("revision", ["", "abc", "-1", "99999999999999999999", "1e3"])
def test_odd_revisions_are_refused_without_an_error(app, staff, march_10, revision):
    measure = propose(staff, submit(staff))
    officer = login(app.test_client(), staff["officer"])
    for route in ("approve", "hearing", "notice-sent", "close", "extend"):
        response = officer.post(f"/measures/{measure.id}/{route}", data={"revision": revision})
        assert response.status_code == 400, route
    assert fresh(measure).state == MeasureState.PROPOSED


def test_posts_without_the_csrf_token_are_refused(app, staff, march_10):
    measure = propose(staff, submit(staff))
    officer = login(app.test_client(), staff["officer"])
    response = officer.post(f"/measures/{measure.id}/approve", data={"revision": "0"}, csrf=False)
    assert response.status_code in (400, 403)
    assert fresh(measure).state == MeasureState.PROPOSED


# --- every role on every measure ----------------------------------------------------------------

SEES = {"boss", "deputy", "officer"}  # Boss proposed; Deputy stands in for Income
EVERYONE = [
    "boss",
    "deputy",
    "officer",
    "boss2",
    "head",
    "victim",
    "witness",
    "hr",
    "admin",
    "counter",
]
ROUTES = ["approve", "hearing", "notice-sent", "close", "extend"]


@pytest.mark.parametrize("who", EVERYONE)
def test_who_sees_a_measure(app, staff, march_10, who):
    measure = propose(staff, submit(staff))
    client = login(app.test_client(), staff[who])
    page = client.get(f"/measures/{measure.id}")
    assert page.status_code == (200 if who in SEES else 404)
    if who not in SEES:
        for route in ROUTES:
            response = client.post(f"/measures/{measure.id}/{route}", data={"revision": "0"})
            assert response.status_code == 404, route
        assert fresh(measure).state == MeasureState.PROPOSED and fresh(measure).revision == 0
    listing = client.get("/measures")
    keeps = staff[who].role.value == "manager" or who == "officer"
    assert listing.status_code == (200 if keeps else 404)
    if keeps:
        assert ("Jan Jansen" in listing.text) == (who in SEES)
    assert (client.get("/measures/new").status_code == 200) == keeps


def test_a_deactivated_security_officer_sees_nothing(app, staff, march_10):
    measure = propose(staff, submit(staff))
    client = login(app.test_client(), staff["officer"])
    officer = db.session.get_one(User, staff["officer"].id)
    officer.active = False
    db.session.commit()
    assert client.get(f"/measures/{measure.id}").status_code in (302, 404)


def test_measure_ids_that_do_not_exist_answer_404(app, staff, march_10):
    client = login(app.test_client(), staff["officer"])
    assert client.get("/measures/999999").status_code == 404
    assert client.post("/measures/999999/approve", data={"revision": "0"}).status_code == 404


def test_the_menu_shows_measures_to_managers_and_security_officers_only(app, staff, march_10):
    for who, shown in [("boss", True), ("officer", True), ("victim", False), ("hr", False)]:
        page = login(app.test_client(), staff[who]).get("/")
        assert ('href="/measures"' in page.text) == shown, who


def test_viewing_a_measure_is_audited(app, staff, march_10):
    measure = propose(staff, submit(staff))
    login(app.test_client(), staff["officer"]).get(f"/measures/{measure.id}")
    assert audited("measure.view") == 1


# --- two at once --------------------------------------------------------------------------------


def approving(user_id: int, measure_id: int):
    """A job for `race`: read the measure's revision, wait for the other, approve."""

    def job(wait):
        user = db.session.get_one(User, user_id)
        revision = db.session.get_one(Measure, measure_id).revision
        wait()
        return measures.approve(user, measure_id, revision)

    return job


def test_two_approvals_at_once_give_one(app, staff, march_10):
    measure = propose(staff, submit(staff))
    ids = {name: staff[name].id for name in ("officer", "deputy")}
    results = race(app, *(approving(ids[name], measure.id) for name in ids))
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(refused) == 1, results
    measure = fresh(measure)
    assert measure.state == MeasureState.IN_FORCE
    assert measure.second_approved_by_id is None
    assert audited("measure.approve") == 1


def test_two_first_approvals_of_a_long_measure_at_once_count_once(app, staff, march_10):
    kind = app.extensions["protocol"].measure_kind("two_colleagues")
    measure = propose(staff, submit(staff), days=kind.max_days + 10)
    ids = {name: staff[name].id for name in ("officer", "deputy")}
    results = race(app, *(approving(ids[name], measure.id) for name in ids))
    assert sum(isinstance(r, ServiceError) for r in results) == 1, results
    measure = fresh(measure)
    assert measure.state == MeasureState.PROPOSED
    assert measure.approved_by_id in ids.values() and measure.second_approved_by_id is None


def test_the_day_a_measure_is_in_force_through(app, staff, march_10):
    measure = fresh(in_force(staff, days=1))
    assert measure.ends_on == TODAY
    assert measure.in_force_on(TODAY)
    assert not measure.in_force_on(TODAY + timedelta(days=1))
    assert measures.days_of(TODAY, TODAY) == 1
    assert measures.days_of(date(2026, 1, 1), date(2026, 12, 31)) == 365


def test_the_register_runs_a_constant_number_of_queries(app, staff, march_10, count_queries):
    for n in range(2):  # one of each section: waiting, in force
        measure = propose(staff, submit(staff, perpetrator=f"Burger {n}"))
        if n:
            approve(staff, measure)
    pages = {who: login(app.test_client(), staff[who]) for who in ("deputy", "officer")}
    few = {}
    for who, client in pages.items():
        client.get("/measures")
        with count_queries() as counter:
            assert client.get("/measures").status_code == 200
        few[who] = counter.count
    for n in range(6):
        measure = propose(staff, submit(staff, perpetrator=f"Later {n}"))
        if n % 2:
            approve(staff, measure)
    for who, client in pages.items():
        with count_queries() as counter:
            page = client.get("/measures")
        assert page.status_code == 200 and "Later 5" in page.text
        assert counter.count == few[who], who
