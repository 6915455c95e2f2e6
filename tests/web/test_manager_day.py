"""A manager's day: the home page (overdue, due today, new incidents, steps stood in for), the
inbox's two tabs ("mine" and "standing in") grouped by incident and searchable by incident
number or name, the menu badge, and being away until a day.

Mira and Max manage Income and Enforcement and are each other's deputy, as in the demo: each
owns steps and stands in for the other's. They read English: the Dutch of the new texts is
merged into the catalogue separately (tests/web/test_i18n.py checks it is complete)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from incidents import queries, services
from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    AuditAction,
    AuditEvent,
    Channel,
    IncidentType,
    Role,
    StepStatus,
    User,
)
from incidents.services import ReportData
from tests.conftest import form_errors, login

# Tuesday 10 March 2026, 10:00 in Amsterdam.
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
TODAY = date(2026, 3, 10)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def report(person, token, *, at=NOW, types=(IncidentType.PHYSICAL,), witnesses=()):
    """`person` reports an incident that happened half an hour before `at`, submitted then."""
    with time_machine.travel(at, tick=False):
        return services.save_report(
            person,
            token,
            ReportData(
                occurred_at=at - timedelta(minutes=30),
                channel=Channel.COUNTER,
                types=list(types),
                description="It happened.",
                affected_ids=[person.id],
                witness_ids=[w.id for w in witnesses],
            ),
            submit=True,
        )


@pytest.fixture
def org(make_user, make_team, frozen):
    mira = make_user(Role.MANAGER, name="Mira Manager", locale="en")
    max_ = make_user(Role.MANAGER, name="Max Manager", locale="en")
    income = make_team("Income", manager=mira, deputy=max_)
    enforcement = make_team("Enforcement", manager=max_, deputy=mira)
    eva = make_user(name="Eva Employee", team=income)
    wim = make_user(name="Wim Witness", team=enforcement)
    ana = make_user(name="Ana_Bel", team=income)
    anax = make_user(name="AnaXBel", team=income)
    percy = make_user(name="Percy 100%", team=income)
    return {
        "mira": mira,
        "max": max_,
        "eva": eva,
        "wim": wim,
        "ana": ana,
        "anax": anax,
        "percy": percy,
        "income": income,
        "enforcement": enforcement,
    }


@pytest.fixture
def day(org):
    """Eva's physical violence with Wim as witness (today), Ana's and AnaX's verbal
    aggression (today), Percy's threat of two days ago (its first steps overdue now), and an
    incident of Wim's own (Max's, a week and a half ago: not new)."""
    return {
        "eva": report(org["eva"], "day-eva-token-padding", witnesses=[org["wim"]]),
        "ana": report(org["ana"], "day-ana-token-padding", types=(IncidentType.VERBAL,)),
        "anax": report(org["anax"], "day-anax-token-padding", types=(IncidentType.VERBAL,)),
        "percy": report(
            org["percy"],
            "day-percy-token-padding",
            at=NOW - timedelta(days=2),
            types=(IncidentType.THREAT,),
        ),
        "wim": report(
            org["wim"],
            "day-wim-token-padding",
            at=NOW - timedelta(days=10),
            types=(IncidentType.VERBAL,),
        ),
    }


def steps(where) -> list[AftercareStep]:
    db.session.expire_all()
    return list(db.session.scalars(select(AftercareStep).where(where)))


def step_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/aftercare/steps/(\d+)"', page)]


def open_of(owner, *, other_than=False):
    """Open step ids owned by `owner` (or, `other_than`: of owner's teams, owned by others)."""
    return {
        s.id
        for s in steps(AftercareStep.status == StepStatus.OPEN)
        if (s.owner_id != owner.id if other_than else s.owner_id == owner.id)
    }


def tab_count(page: str, label: str) -> int:
    found = re.search(rf'>{label} <span class="count" aria-hidden="true">(\d+)</span>', page)
    assert found, label
    return int(found.group(1))


# --- The inbox: tabs, counts, grouping ------------------------------------------------------


def test_the_tabs_split_my_steps_from_those_i_stand_in_for(app, org, day):
    mira = login(app.test_client(), org["mira"])
    mine = mira.get("/aftercare").text
    standing = mira.get("/aftercare?tab=standing_in").text
    mira_owns = open_of(org["mira"])
    max_owns = open_of(org["max"])  # Wim's own incident and his witness step: Max's team
    assert mira_owns and max_owns
    assert set(step_ids(mine)) == mira_owns
    assert set(step_ids(standing)) == max_owns  # Mira deputises for Enforcement
    # Each tab shows its count, in both tabs' pages.
    for page in (mine, standing):
        assert tab_count(page, "Mine") == len(mira_owns)
        assert tab_count(page, "Standing in") == len(max_owns)
    assert 'aria-current="page">Mine' in mine and 'aria-current="page">Standing in' in standing
    # And the other way round for Max.
    max_ = login(app.test_client(), org["max"])
    assert set(step_ids(max_.get("/aftercare").text)) == max_owns
    assert set(step_ids(max_.get("/aftercare?tab=standing_in").text)) == mira_owns
    # A tab that does not exist shows mine; the state filter stays within the tab.
    assert set(step_ids(mira.get("/aftercare?tab=everything").text)) == mira_owns
    assert step_ids(mira.get("/aftercare?tab=standing_in&state=done").text) == []


def test_the_state_filter_works_within_each_tab_with_its_counts(app, org, day):
    mira = login(app.test_client(), org["mira"])
    overdue = mira.get("/aftercare?state=overdue").text
    percy = {s.id for s in day["percy"].steps if s.is_overdue(NOW)}
    assert percy and set(step_ids(overdue)) == percy
    assert tab_count(overdue, "Mine") == len(percy)
    # Wim's contact step (ten days ago) is overdue in the tab Mira stands in for.
    wims = {s.id for s in day["wim"].steps}
    standing = mira.get("/aftercare?tab=standing_in&state=overdue").text
    assert set(step_ids(standing)) == wims and tab_count(standing, "Standing in") == len(wims)


def test_steps_are_grouped_under_their_incident_with_number_date_and_level(app, org, day):
    page = login(app.test_client(), org["mira"]).get("/aftercare").text
    groups = re.findall(r'<section class="incident-group" aria-labelledby="incident-(\d+)">', page)
    assert len(groups) == len(set(groups))  # each incident once
    eva = day["eva"]
    assert str(eva.id) in groups
    heading = re.search(rf'<h2 id="incident-{eva.id}">(.*?)</h2>', page, re.S)
    assert heading is not None
    assert f"Incident {eva.number}" in heading.group(1) and "level 3" in heading.group(1)
    assert (
        "10/03/2026" in heading.group(1)
        or "Mar 2026" in heading.group(1)
        or ("3/10/26" in heading.group(1))
    )
    # All Eva's incident's steps of Mira's come together, under that heading.
    section = page.split(f'aria-labelledby="incident-{eva.id}"', 1)[1].split("</section>", 1)[0]
    mine = {s.id for s in eva.steps if s.owner_id == org["mira"].id and s.is_open}
    assert set(step_ids(section)) == mine and len(mine) > 1
    # The incidents in the order of their first deadline.
    firsts = []
    for incident_id in groups:
        due = [s.due_at for s in steps(AftercareStep.incident_id == int(incident_id))]
        firsts.append(min(due))
    assert firsts == sorted(firsts)


def test_the_badge_counts_my_own_open_steps_only(app, org, day):
    page = login(app.test_client(), org["mira"]).get("/").text
    assert f'<span class="badge">{len(open_of(org["mira"]))}<' in page
    assert queries.open_step_count(org["mira"], NOW) == len(open_of(org["mira"]))
    assert queries.open_step_count(org["max"], NOW) == len(open_of(org["max"]))


def test_a_cursor_of_another_list_gives_the_first_page(app, org, make_user):
    # Enough incidents for two pages of Mira's, and some of Max's.
    for n in range(queries.INBOX_PAGE + 2):
        report(
            org["eva"],
            f"cursor-eva-{n:02d}-padding",
            at=NOW - timedelta(hours=n + 1),
            types=(IncidentType.VERBAL,),
        )
    maxs = report(org["wim"], "cursor-wim-padding", types=(IncidentType.VERBAL,))
    mira = login(app.test_client(), org["mira"])
    first = mira.get("/aftercare").text
    more = re.search(r'href="/aftercare\?[^"]*after=(\d+)"', first)
    assert more is not None
    second = step_ids(mira.get(f"/aftercare?after={more.group(1)}").text)
    assert second and not set(second) & set(step_ids(first))
    # Max's step (his own list), and a step of Mira's other tab: the first page.
    max_step = maxs.steps[0].id
    for url in (
        f"/aftercare?after={max_step}",
        f"/aftercare?tab=standing_in&after={step_ids(first)[0]}",
    ):
        page = mira.get(url).text
        listed = step_ids(page)
        expected = step_ids(mira.get(url.split("after=")[0].rstrip("?&")).text)
        assert listed == expected, url
    # From Max's side: Mira's cursor is not in his "mine".
    max_ = login(app.test_client(), org["max"])
    assert step_ids(max_.get(f"/aftercare?after={more.group(1)}").text) == step_ids(
        max_.get("/aftercare").text
    )


# --- Searching ------------------------------------------------------------------------------


def test_search_by_incident_number_finds_that_incident_only(app, org, day):
    mira = login(app.test_client(), org["mira"])
    eva = day["eva"]
    evas = {s.id for s in eva.steps if s.owner_id == org["mira"].id}
    year, place = eva.number.split("-")
    for typed in (eva.number, f"{year} {int(place)}", f" #{year}/{place} "):
        page = mira.get("/aftercare", query_string={"q": typed}).text
        assert set(step_ids(page)) == evas, typed
        assert tab_count(page, "Mine") == len(evas)
    # The number of Max's own incident: nothing in Mira's tab of her own...
    wim = day["wim"]
    page = mira.get("/aftercare", query_string={"q": wim.number}).text
    assert step_ids(page) == [] and tab_count(page, "Mine") == 0
    assert tab_count(page, "Standing in") == len(wim.steps)  # ...it is one she stands in for
    # A number no incident has, and one of an incident Mira has no part in.
    other = make_other_incident(org)
    for typed in ("2026-9999", other.number):
        for tab in ("mine", "standing_in"):
            page = mira.get("/aftercare", query_string={"q": typed, "tab": tab}).text
            assert step_ids(page) == [], (typed, tab)
            assert tab_count(page, "Mine") == tab_count(page, "Standing in") == 0


def make_other_incident(org):
    """An incident in a team neither Mira nor Max runs."""
    boss = services.create_user(
        None, email="boss3@example.test", name="Boss Three", password="x" * 20, role=Role.MANAGER
    )
    team = services.create_team(None, name_nl="Elders", name_en="Elsewhere", manager=boss)
    person = services.create_user(
        None,
        email="else@example.test",
        name="Eva Elsewhere",
        password="x" * 20,
        role=Role.EMPLOYEE,
        team=team,
    )
    return report(person, "elsewhere-token-padding", types=(IncidentType.VERBAL,))


def test_search_by_name_is_case_insensitive_and_takes_wildcards_literally(app, org, day):
    mira = login(app.test_client(), org["mira"])

    def found(typed, tab="mine"):
        page = mira.get("/aftercare", query_string={"q": typed, "tab": tab}).text
        assert "q-error" not in page, typed
        return {s.subject_user_id for s in steps(AftercareStep.id.in_(step_ids(page)))}

    assert found("EVA emp") == {org["eva"].id}
    assert found("eva") == {org["eva"].id}  # contains: anywhere in the name
    assert found("a_b") == {org["ana"].id}  # "_" is not "any character" (AnaXBel)
    assert found("y%") == set()  # "%" is not "anything" (Eva Employee has a "y")
    assert found("0%") == {org["percy"].id}
    assert found("wim") == set()  # Wim's steps are Max's...
    assert found("wim", "standing_in") == {org["wim"].id}  # ...which Mira stands in for
    assert found("nobody like this") == set()
    # Too short to be a name and not a number: a message next to the field, nothing hidden.
    page = mira.get("/aftercare", query_string={"q": "e"}).text
    assert 'id="q-error"' in page and 'aria-invalid="true"' in page
    assert set(step_ids(page)) == open_of(org["mira"])
    # Anything at all answers, and never widens the list.
    for typed in ("%", "_", "\\", "' OR 1=1 --", "x" * 5000, "2026-", "0000-0000", "\x00"):
        response = mira.get("/aftercare", query_string={"q": typed})
        assert response.status_code == 200, typed
        assert set(step_ids(response.text)) <= open_of(org["mira"]), typed


# --- Queries --------------------------------------------------------------------------------


def test_inbox_and_home_run_a_constant_number_of_queries(app, org, day, count_queries):
    mira = login(app.test_client(), org["mira"])
    urls = (
        "/",
        "/aftercare",
        "/aftercare?tab=standing_in",
        "/aftercare?q=eva",
        f"/aftercare?q={day['eva'].number}",
    )
    for url in urls:
        mira.get(url)
    few = {}
    for url in urls:
        with count_queries() as counter:
            assert mira.get(url).status_code == 200
        few[url] = counter.count
    for n in range(8):
        report(
            org["eva"],
            f"more-token-{n}-padding",
            at=NOW - timedelta(days=n % 3, hours=n),
            witnesses=[org["wim"]],
        )
        report(org["wim"], f"more-wim-token-{n}-padding", at=NOW - timedelta(hours=n))
    for url in urls:
        with count_queries() as counter:
            assert mira.get(url).status_code == 200
        assert counter.count == few[url], url


# --- The home page --------------------------------------------------------------------------


def section(page: str, heading_id: str) -> str:
    found = re.search(rf'aria-labelledby="{heading_id}">(.*?)</section>', page, re.S)
    assert found, heading_id
    return found.group(1)


def test_the_managers_home_page_shows_the_day(app, org, day):
    page = login(app.test_client(), org["mira"]).get("/").text
    assert "Welcome" not in page and "Teams you manage" not in page
    overdue = {s.id for s in day["percy"].steps if s.is_overdue(NOW)}
    due_today = {
        s.id
        for s in steps(AftercareStep.owner_id == org["mira"].id)
        if s.is_open and NOW <= s.due_at < datetime(2026, 3, 10, 23, 0, tzinfo=UTC)
    }
    assert overdue and due_today
    part = section(page, "overdue-heading")
    n = len(overdue)
    assert f"{n} overdue step" in part and set(step_ids(part)) == overdue
    part = section(page, "today-heading")
    shown = set(step_ids(part))
    assert shown <= due_today and len(shown) == min(len(due_today), queries.HOME_LIST)
    assert f"{len(due_today)} step" in part
    # New incidents of her teams: Eva's, Ana's, AnaX's and Percy's, with their numbers; not
    # Wim's (ten days ago), even though she deputises for his team.
    part = section(page, "new-heading")
    assert "4 new incidents in your teams" in part
    numbers = set(re.findall(r"Incident (\d{4}-\d{4})", part))
    assert len(numbers) == min(4, queries.HOME_LIST)
    assert day["eva"].number in numbers and day["wim"].number not in numbers
    assert "Physical violence" in part and "level 3" in part
    # Steps she stands in for, apart: Max's team's (his witness step for Eva's incident, and
    # Wim's own incident).
    part = section(page, "standing-heading")
    standing = open_of(org["max"])
    assert f"{len(standing)} step" in part
    shown = set(step_ids(part))
    assert shown <= standing and len(shown) == min(len(standing), queries.HOME_LIST)


def test_the_home_page_counts_in_english_use_plural_forms(app, org, frozen):
    org["mira"].locale = "en"
    db.session.commit()
    report(org["percy"], "plural-token-padding", at=NOW - timedelta(days=2))
    page = login(app.test_client(), org["mira"]).get("/").text
    assert "1 new incident in your teams" in page
    assert "0 steps you stand in for" in page
    assert re.search(r"\d+ overdue steps?<", page)


def test_other_roles_keep_their_home_page(app, org, make_user):
    for role in (Role.EMPLOYEE, Role.HR, Role.ADMIN):
        page = login(app.test_client(), make_user(role, name=f"Someone {role.value}")).get("/")
        assert page.status_code == 200
        assert "Welkom, Someone" in page.text and "overdue-heading" not in page.text
        assert 'action="/aftercare/absence"' not in page.text


# --- Being away -----------------------------------------------------------------------------


def away(client, back_on="", **extra):
    return client.post("/aftercare/absence", data={"back_on": back_on, **extra})


def fresh_user(user) -> User:
    db.session.expire_all()
    return db.session.get_one(User, user.id)


def test_away_until_a_day_then_back_by_itself(app, org, frozen):
    mira = login(app.test_client(), org["mira"])
    home = mira.get("/").text
    # The button opens a small form: the day back, and what will happen.
    assert "<summary" in home and 'name="back_on"' in home
    assert "new steps of your teams go to your deputies" in home
    response = away(mira, "2026-03-13", return_to="home")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    user = fresh_user(org["mira"])
    assert user.absent and user.absent_until == date(2026, 3, 13) and user.away
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == AuditAction.USER_ABSENT)
    )
    assert event is not None and event.details == {"until": "2026-03-13"}
    # One banner, on the home page and in the inbox, and no flash repeating it.
    for url in ("/", "/aftercare"):
        page = mira.get(url).text
        assert page.count("You are away") == 1, url
        assert "13 Mar 2026" in page or "13/03/2026" in page or "Mar 13, 2026" in page
        assert "alert--success" not in page
    # While away, new steps go to the deputy.
    first = report(org["eva"], "away-eva-token-padding", types=(IncidentType.VERBAL,))
    assert {s.owner_id for s in first.steps} == {org["max"].id}
    # On the day she is back, without doing anything: they come to her again.
    frozen.move_to(datetime(2026, 3, 13, 6, 0, tzinfo=UTC))  # 07:00 in Amsterdam
    assert not fresh_user(org["mira"]).away
    later = report(
        org["eva"],
        "back-eva-token-padding",
        at=datetime(2026, 3, 13, 6, 0, tzinfo=UTC),
        types=(IncidentType.VERBAL,),
    )
    assert {s.owner_id for s in later.steps} == {org["mira"].id}
    page = login(app.test_client(), org["mira"]).get("/").text
    assert "You are away" not in page and "<summary" in page


def test_the_day_before_back_still_counts_as_away_in_the_organisations_zone(app, org, frozen):
    services.aftercare.set_absent(org["mira"], True, date(2026, 3, 11))
    # 22:30 UTC on the 10th is 23:30 in Amsterdam: still the 10th there.
    frozen.move_to(datetime(2026, 3, 10, 22, 30, tzinfo=UTC))
    assert fresh_user(org["mira"]).away
    frozen.move_to(datetime(2026, 3, 10, 23, 30, tzinfo=UTC))  # 00:30 on the 11th
    assert not fresh_user(org["mira"]).away


def test_away_without_a_day_lasts_until_i_am_back(app, org, frozen):
    mira = login(app.test_client(), org["mira"])
    assert away(mira).status_code == 302
    assert fresh_user(org["mira"]).absent_until is None
    frozen.move_to(NOW + timedelta(days=400))
    assert fresh_user(org["mira"]).away
    mira = login(app.test_client(), org["mira"])  # a new session, so long after
    page = mira.get("/aftercare").text
    assert "until you say you are back" in page
    response = mira.post("/aftercare/absence", data={"back": "1", "return_to": "inbox"})
    assert response.status_code == 302 and response.headers["Location"] == "/aftercare"
    user = fresh_user(org["mira"])
    assert not user.absent and user.absent_until is None and not user.away
    assert "Welcome back" in mira.get("/aftercare").text  # the one message: she is back


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("2026-03-09", "after today"),
        ("2026-03-10", "after today"),
        ("2027-03-12", "at most a year"),
        ("9999-12-31", "at most a year"),
        ("not a date", None),
        ("2026-02-30", None),
    ],
)
def test_the_day_back_is_checked_next_to_the_field(app, org, frozen, typed, message):
    mira = login(app.test_client(), org["mira"])
    response = away(mira, typed)
    assert response.status_code == 200
    assert form_errors(response.text) == ["back_on"]
    if message:
        assert message in response.text
    assert 'aria-invalid="true"' in response.text
    user = fresh_user(org["mira"])
    assert not user.absent and user.absent_until is None  # nothing stored


def test_a_year_ahead_is_the_furthest_day_back(app, org, frozen):
    mira = login(app.test_client(), org["mira"])
    assert away(mira, "2027-03-11").status_code == 302
    assert fresh_user(org["mira"]).absent_until == date(2027, 3, 11)


def test_absence_needs_the_csrf_token_and_the_manager_role(app, org, make_user, frozen):
    mira = login(app.test_client(), org["mira"])
    assert mira.post("/aftercare/absence", data={"back_on": ""}, csrf=False).status_code == 400
    assert not fresh_user(org["mira"]).absent
    assert mira.get("/aftercare/absence").status_code == 200
    for role in (Role.EMPLOYEE, Role.HR, Role.ADMIN):
        client = login(app.test_client(), make_user(role))
        assert client.get("/aftercare/absence").status_code == 403
        assert away(client).status_code == 403
        assert client.get("/aftercare").status_code == 403
        assert client.get("/aftercare?tab=standing_in&q=2026-0001").status_code == 403
    assert app.test_client().get("/aftercare?tab=standing_in").status_code == 302


def test_the_data_export_says_whether_i_am_away_now(app, org, frozen):
    services.aftercare.set_absent(org["mira"], True, date(2026, 3, 12))
    mira = login(app.test_client(), org["mira"])
    page = mira.get("/account/data").text
    assert re.search(r"Marked as absent</th><td>Yes<", page)
    frozen.move_to(NOW + timedelta(days=3))
    page = login(app.test_client(), org["mira"]).get("/account/data").text
    assert re.search(r"Marked as absent</th><td>No<", page)
