"""Paging cursors (`?after=<id>`) are accepted only for a row of the user's own list: any
other id gives the first page, so an address tells nothing about whether, or when, other
people's incidents and steps exist."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from incidents import services
from incidents.models import Channel, IncidentType, Role, StepStatus
from incidents.services import ReportData
from incidents.services.aftercare import StepResult
from tests.conftest import login

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def org(make_user, make_team):
    """Eva and Olga are in teams that Bart and Mira manage; each has incidents of their own,
    Olga's between Eva's in time."""
    bart, mira = make_user(Role.MANAGER), make_user(Role.MANAGER)
    eva = make_user(team=make_team("Income", manager=bart))
    olga = make_user(team=make_team("Enforcement", manager=mira))

    def report(user, hours_ago, token):
        occurred = NOW - timedelta(hours=hours_ago)
        with time_machine.travel(occurred + timedelta(minutes=10), tick=False):
            return services.save_report(
                user,
                token,
                ReportData(
                    occurred_at=occurred,
                    channel=Channel.COUNTER,
                    types=[IncidentType.VERBAL],
                    description="x",
                    affected_ids=[user.id],
                ),
                submit=True,
            )

    evas = [report(eva, hours, f"cursor-eva-{hours:03d}-padding") for hours in (30, 20, 10)]
    olgas = report(olga, 25, "cursor-olga-025-padding")
    draft = services.save_report(eva, "cursor-eva-draft-padding", ReportData(), submit=False)
    return {"bart": bart, "mira": mira, "eva": eva, "evas": evas, "olgas": olgas, "draft": draft}


def incident_ids(page: str) -> list[int]:
    return [int(i) for i in dict.fromkeys(re.findall(r'href="/incidents/(\d+)"', page))]


def step_ids(page: str) -> list[int]:
    return [int(i) for i in dict.fromkeys(re.findall(r'href="/aftercare/steps/(\d+)"', page))]


def test_my_incidents_accept_only_my_own_incidents_as_cursor(app, org, frozen):
    client = login(app.test_client(), org["eva"])
    first = incident_ids(client.get("/incidents").text)
    assert first == [i.id for i in reversed(org["evas"])]
    # One of mine: the page after it, as before.
    middle = org["evas"][1].id
    assert incident_ids(client.get(f"/incidents?after={middle}").text) == [org["evas"][0].id]
    # Someone else's (it lies between mine in time), my draft, one that does not exist.
    for other in (org["olgas"].id, org["draft"].id, 999_999):
        assert incident_ids(client.get(f"/incidents?after={other}").text) == first, other


def test_the_inbox_accepts_only_steps_of_the_list_shown_as_cursor(app, org, frozen):
    client = login(app.test_client(), org["bart"])
    first = step_ids(client.get("/aftercare").text)
    evas_steps = [s.id for i in org["evas"] for s in i.steps]
    assert set(first) == set(evas_steps) and len(first) >= 3
    # One of the list: the page after it (the earliest deadline first).
    assert step_ids(client.get(f"/aftercare?after={first[0]}").text) == first[1:]
    # Another manager's step (its deadline lies between Bart's), one that does not exist.
    mira_step = org["olgas"].steps[0].id
    for other in (mira_step, 999_999):
        assert step_ids(client.get(f"/aftercare?after={other}").text) == first, other
    # A step of Bart's, but not of this list: an open step as cursor of the done steps.
    done_step = org["evas"][0].steps[0]
    services.aftercare.complete_step(
        org["bart"], done_step, StepResult(outcomes=["held"], held_on=NOW.date()), 0
    )
    assert done_step.status == StepStatus.DONE
    done = step_ids(client.get("/aftercare?state=done").text)
    assert done == [done_step.id]
    open_step = org["evas"][1].steps[0].id
    assert step_ids(client.get(f"/aftercare?state=done&after={open_step}").text) == done


def test_a_foreign_cursor_costs_no_extra_query(app, org, frozen, count_queries):
    client = login(app.test_client(), org["eva"])
    client.get("/incidents")
    with count_queries() as own:
        client.get(f"/incidents?after={org['evas'][2].id}")
    with count_queries() as foreign:
        client.get(f"/incidents?after={org['olgas'].id}")
    assert foreign.count <= own.count
