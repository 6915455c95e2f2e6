"""The register of measures: proposing, the approval rules, the hearing, ending and
extending, who may see and do what (every role on every measure), and two approvals at once."""

from __future__ import annotations

import pytest

from incidents.extensions import db
from incidents.models import MeasureState
from incidents.services import ServiceError, measures
from tests.conftest import login
from tests.web.measure_helpers import TODAY, approve, propose, submit


def test_a_proposal_takes_effect_only_when_a_second_person_approves(app, staff, march_10):
    incident = submit(staff)
    measure = propose(staff, incident)
    assert measure.state == MeasureState.PROPOSED
    assert not measure.in_force_on(TODAY)
    with pytest.raises(ServiceError, match="another person"):
        measures.approve(staff["boss"], measure.id, measure.revision)
    approve(staff, measure)
    db.session.refresh(measure)
    assert measure.state == MeasureState.IN_FORCE
    assert measure.approved_by_id == staff["officer"].id
    assert measure.proposed_by_id == staff["boss"].id


def test_pages_open_for_the_proposer(app, staff, march_10):
    measure = propose(staff, submit(staff))
    client = login(app.test_client(), staff["boss"])
    assert client.get("/measures").status_code == 200
    assert client.get(f"/measures/{measure.id}").status_code == 200
    assert client.get("/measures/new").status_code == 200
    officer = login(app.test_client(), staff["officer"])
    page = officer.get(f"/measures/{measure.id}")
    assert "Goedkeuren" in page.text or "Approve" in page.text
