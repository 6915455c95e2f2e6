"""Shared pieces of the tests of corrective actions: an organisation with a facility colleague
and a works council member, a level-3 incident's team evaluation step, and actions made
through the service. Built on the measures' `staff` (tests/web/measure_helpers.py)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from incidents.extensions import db
from incidents.models import AftercareStep, CorrectiveAction, Incident
from incidents.rules import StepKind
from incidents.services import actions
from tests.web.measure_helpers import TODAY, submit

WHAT = "Een tweede uitgang in spreekkamer 2, zodat niemand klem kan komen te zitten."


@pytest.fixture
def org(staff, make_user):
    """`staff` plus Fay (facility, in Income: Boss is her manager) and Wendy (works council)."""
    org = dict(staff)
    org["facility"] = make_user(name="Fay Facility", team=staff["income"])
    council = make_user(name="Wendy Council", team=staff["enforcement"])
    council.works_council = True
    db.session.commit()
    org["council"] = council
    return org


def evaluation(incident: Incident) -> AftercareStep:
    """The incident's team evaluation step."""
    return next(s for s in incident.steps if s.kind == StepKind.TEAM_EVALUATION)


def new_action(
    org: dict[str, Any],
    incident: Incident | None = None,
    *,
    by: str = "boss",
    owner: str = "facility",
    due_on: date | None = None,
    **values: Any,
) -> CorrectiveAction:
    step = evaluation(incident or submit(org))
    return actions.create(
        org[by],
        step.id,
        actions.ActionInput(
            what=values.pop("what", WHAT),
            owner_id=org[owner].id,
            due_on=due_on or TODAY + timedelta(days=7),
            risk_item=values.pop("risk_item", "RI&E 4.2"),
        ),
    )


def fresh(action: CorrectiveAction) -> CorrectiveAction:
    db.session.expire_all()
    return db.session.get_one(CorrectiveAction, action.id)


__all__ = ["WHAT", "evaluation", "fresh", "new_action", "org"]
