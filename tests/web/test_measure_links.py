"""The register from the aftercare: the "response to the perpetrator" step page and the
incident page list the measures that rest on the incident (linked for those who may see
them) and link to proposing one, prefilled; for nobody else."""

from __future__ import annotations

import re
from html import unescape

from incidents.extensions import db
from incidents.models import AftercareStep, Incident
from incidents.rules import StepKind
from tests.conftest import login
from tests.web.measure_helpers import approve, propose, submit

SECTION = 'class="card measures-here"'


def response_step(incident: Incident) -> AftercareStep:
    db.session.expire_all()
    found = db.session.get(Incident, incident.id)
    assert found is not None
    return next(s for s in found.steps if s.kind == StepKind.PERPETRATOR_RESPONSE)


def section(page: str) -> str:
    found = re.search(r'<section class="card measures-here".*?</section>', page, re.S)
    assert found is not None, "no list of measures"
    return unescape(found.group(0))


def test_the_response_step_lists_the_incidents_measures_and_proposes_from_the_step(
    app, staff, march_10
):
    incident = submit(staff)
    step = response_step(incident)
    client = login(app.test_client(), staff["boss"])
    empty = section(client.get(f"/aftercare/steps/{step.id}").text)
    assert f'href="/measures/new?step={step.id}"' in empty
    assert "/measures/" not in empty.replace(f"/measures/new?step={step.id}", "")

    in_force = approve(staff, propose(staff, incident, step_id=step.id))
    proposed = propose(staff, incident, kind="written_contact")
    other = propose(staff, submit(staff))  # rests on another incident
    listed = section(client.get(f"/aftercare/steps/{step.id}").text)
    assert f'href="/measures/{in_force.id}"' in listed
    assert f'href="/measures/{proposed.id}"' in listed
    assert f'href="/measures/{other.id}"' not in listed
    assert "state-in_force" in listed and "state-proposed" in listed
    assert "Jan Jansen" not in listed  # kinds, dates and states: not the citizen again

    # The link opens the form from the step: the incident and the perpetrator filled in.
    form = client.get(f"/measures/new?step={step.id}").text
    assert f'value="{incident.number}"' in form and 'value="Jan Jansen"' in form
    assert re.search(rf'<input[^>]*name="step"[^>]*value="{step.id}"', form)


def test_other_steps_have_no_list(app, staff, march_10):
    incident = submit(staff)
    db.session.refresh(incident)
    contact = next(s for s in incident.steps if s.kind == StepKind.CONTACT)
    page = login(app.test_client(), staff["boss"]).get(f"/aftercare/steps/{contact.id}").text
    assert SECTION not in page


def test_the_incident_page_lists_them_for_those_who_may_propose(app, staff, march_10):
    incident = submit(staff)
    measure = approve(staff, propose(staff, incident))
    for who in ("boss", "deputy"):
        page = login(app.test_client(), staff[who]).get(f"/incidents/{incident.id}").text
        listed = section(page)
        assert f'href="/measures/{measure.id}"' in listed, who
        assert f'href="/measures/new?incident={incident.number}"' in listed, who
    # The affected employee, the witness and the witness's manager get no such list.
    for who in ("victim", "witness", "boss2"):
        response = login(app.test_client(), staff[who]).get(f"/incidents/{incident.id}")
        assert response.status_code == 200, who
        assert SECTION not in response.text, who
        assert "/measures/new" not in response.text, who
