"""The police bundle: one ZIP with the report for the police (Dutch, the employer's address),
the files chosen for the police and their SHA-256 sums; its download recorded, for the
managers of the incident only."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import func, select

from incidents import services
from incidents.evidence.storage import StorageError
from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    Attachment,
    AuditAction,
    AuditEvent,
    Channel,
    IncidentChange,
    IncidentType,
    PerpetratorKnown,
    Role,
)
from incidents.services import ReportData
from incidents.services.evidence import Upload
from tests.conftest import login

# Tuesday 10 March 2026, 10:00 in Amsterdam.
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
MANIFEST = "manifest-sha256.txt"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def org(make_user, make_team):
    """The victim's team (with a manager who reads English, and a deputy), the witness's team
    with its own manager, and people with no part in the incident's aftercare."""
    boss = make_user(Role.MANAGER, name="Boss Person", locale="en")
    deputy = make_user(Role.MANAGER, name="Deputy Person", locale="en")
    boss2 = make_user(Role.MANAGER, name="Other Boss", locale="en")
    income = make_team("Income", manager=boss, deputy=deputy)
    enforcement = make_team("Enforcement", manager=boss2)
    return {
        "boss": boss,
        "deputy": deputy,
        "boss2": boss2,
        "victim": make_user(name="Vera Victim", email="vera@example.test", team=income),
        "reporter": make_user(name="Rob Reporter", team=income, locale="en"),
        "witness": make_user(name="Wim Witness", team=enforcement, locale="en"),
        "unrelated_manager": make_user(Role.MANAGER, name="Loose Manager", locale="en"),
        "hr": make_user(Role.HR, name="Hanna HR", locale="en"),
        "admin": make_user(Role.ADMIN, name="Adam Admin", locale="en"),
    }


def report(org, token="police-bundle-token-1"):
    """A threat (level 2): the protocol asks for a decision on a police report."""
    return services.save_report(
        org["reporter"],
        token,
        ReportData(
            occurred_at=NOW - timedelta(minutes=30),
            channel=Channel.COUNTER,
            location="Balie 3",
            types=[IncidentType.THREAT],
            description="Said he would wait for her outside.",
            affected_ids=[org["victim"].id],
            witness_ids=[org["witness"].id],
            outside_witnesses="Mrs. Bakker, visitor",
            perpetrator_known=PerpetratorKnown.KNOWN,
            perpetrator_name="Jan Jansen",
            perpetrator_reference="K-4711",
            police_called=True,
        ),
        submit=True,
    )


def image(color: str, size: tuple[int, int] = (12, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def add(org, incident, *names_and_colors):
    uploads = [Upload(name, image(color)) for name, color in names_and_colors]
    return services.evidence.add_files(org["victim"], incident, uploads)


def choose(org, *attachments):
    for attachment in attachments:
        services.evidence.choose_for_police(org["boss"], attachment, True)


def download(client, incident):
    return client.post(f"/incidents/{incident.id}/police-bundle")


def members(response) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def recorded(incident_id: int) -> dict[str, object]:
    """Everything a download writes, as the database holds it now."""
    db.session.expire_all()
    step = police_step(incident_id)
    return {
        "audit": db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == AuditAction.EVIDENCE_BUNDLE)
        ),
        "history": db.session.scalar(
            select(func.count())
            .select_from(IncidentChange)
            .where(IncidentChange.incident_id == incident_id)
            .where(IncidentChange.action == "evidence_handed")
        ),
        "handed": db.session.scalar(
            select(func.count()).select_from(Attachment).where(Attachment.handed_at.is_not(None))
        ),
        "step": (step.evidence_handed_at, step.evidence_files),
    }


NOTHING = {"audit": 0, "history": 0, "handed": 0, "step": (None, 0)}


def fresh(attachment: Attachment) -> Attachment:
    """The file as the database holds it now."""
    found = db.session.get(Attachment, attachment.id)
    assert found is not None
    return found


def police_step(incident_id: int) -> AftercareStep:
    step = db.session.scalar(
        select(AftercareStep).filter_by(incident_id=incident_id, kind="police_report")
    )
    assert step is not None, "a threat has a police-report step"
    return step


def test_the_bundle_holds_the_report_the_chosen_files_and_a_manifest_that_matches(app, org, frozen):
    incident = report(org)
    first, left_out, second, removed = add(
        org,
        incident,
        ("photo.jpg", "red"),
        ("other.png", "blue"),
        ("photo.png", "green"),
        ("gone.png", "black"),
    )
    choose(org, first, second, removed)
    services.evidence.remove_file(org["victim"], removed, "Wrong photo.")
    # Even a removed file still marked for the police stays out: it is gone from the store.
    fresh(removed).for_police = True
    db.session.commit()

    response = download(login(app.test_client(), org["boss"]), incident)

    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="politie-incident-{incident.number}.zip"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    files = members(response)
    # A JPEG upload is stored as the PNG it is: the name follows the stored file.
    assert set(files) == {
        f"melding-{incident.id}.pdf",
        f"01-{first.filename}",
        f"02-{second.filename}",
        MANIFEST,
    }
    assert files[f"01-{first.filename}"] == services.evidence.store().get(first.key)
    assert hashlib.sha256(files[f"02-{second.filename}"]).hexdigest() == second.sha256
    lines = files[MANIFEST].decode().splitlines()
    listed = {}
    for line in lines:
        checksum, name = line.split("  ", 1)  # sha256sum: the hash, two spaces, the name
        listed[name] = checksum
    assert len(lines) == len(listed)
    assert listed == {
        name: hashlib.sha256(data).hexdigest() for name, data in files.items() if name != MANIFEST
    }
    assert left_out.filename not in " ".join(files) and "gone" not in " ".join(files)


def test_without_chosen_files_the_bundle_holds_the_report_and_the_manifest(app, org, frozen):
    incident = report(org)
    add(org, incident, ("photo.png", "red"))  # not chosen
    boss = login(app.test_client(), org["boss"])
    assert "No file is chosen for the police yet" in boss.get(f"/incidents/{incident.id}").text

    files = members(download(boss, incident))

    pdf = f"melding-{incident.id}.pdf"
    assert set(files) == {pdf, MANIFEST}
    assert files[MANIFEST].decode() == f"{hashlib.sha256(files[pdf]).hexdigest()}  {pdf}\n"
    assert "Geen bijlagen" in pdf_text(files[pdf])
    assert recorded(incident.id)["step"] == (NOW, 0)


def test_the_report_is_dutch_from_the_employer_with_its_address_and_the_checksums(
    app, org, frozen, monkeypatch
):
    monkeypatch.setitem(app.config, "ORG_NAME", "Gemeente Dronten")
    monkeypatch.setitem(app.config, "ORG_ADDRESS", "Postbus 100\n8250 AC Dronten")
    incident = report(org)
    files = add(org, incident, ("screenshot.png", "red"), ("damage.png", "blue"))
    choose(org, *files)

    # The manager reads the app in English; the police get Dutch.
    zipped = members(download(login(app.test_client(), org["boss"]), incident))
    text = pdf_text(zipped[f"melding-{incident.id}.pdf"])
    flat = " ".join(text.split())

    assert "Veilige Publieke Taak" in flat and "VPT" in flat
    assert "Bedreiging" in flat and "Balie" in flat  # the type and channel, translated
    assert "Threat" not in flat and "Counter" not in flat
    assert "Gemeente Dronten" in flat
    assert "Postbus 100" in flat and "8250 AC Dronten" in flat
    assert "Vera Victim, p/a Gemeente Dronten" in flat
    assert "Said he would wait for her outside." in flat
    assert "Jan Jansen" in flat and "K-4711" in flat and "Mrs. Bakker, visitor" in flat
    assert "10-03-2026" in flat
    for attachment in files:
        assert attachment.sha256 in text  # whole, on one line
    # The employer reports: no employee's own contact details, no colleague witness by name.
    assert "vera@example.test" not in flat and "Wim Witness" not in flat


def test_the_download_is_recorded_on_the_files_the_step_and_in_the_history(app, org, frozen):
    incident = report(org)
    first, second, later = add(
        org, incident, ("one.png", "red"), ("two.png", "blue"), ("three.png", "green")
    )
    choose(org, first, second)
    boss = login(app.test_client(), org["boss"])

    response = download(boss, incident)

    assert response.status_code == 200
    manifest = members(response)[MANIFEST].decode()
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == AuditAction.EVIDENCE_BUNDLE)
    )
    assert event is not None and event.actor_id == org["boss"].id
    assert (event.object_type, event.object_id) == ("incident", incident.id)
    assert event.details["files"] == 2
    assert event.details["manifest_sha256"] == hashlib.sha256(manifest.encode()).hexdigest()
    assert recorded(incident.id) == {"audit": 1, "history": 1, "handed": 2, "step": (NOW, 2)}
    assert [fresh(a).handed_at for a in (first, second, later)] == [
        NOW,
        NOW,
        None,
    ]
    page = boss.get(f"/incidents/{incident.id}").text
    assert "handed evidence to the police: one.png, two.png" in page
    assert "Evidence handed over on" in page
    step_page = boss.get(f"/aftercare/steps/{police_step(incident.id).id}").text
    assert "Evidence handed over on" in step_page and "2 files" in step_page

    # A second bundle a day later: the first handover stays, the count follows the bundle.
    frozen.shift(timedelta(days=1))
    choose(org, later)
    boss = login(app.test_client(), org["boss"])  # yesterday's session has ended
    assert download(boss, incident).status_code == 200
    assert recorded(incident.id) == {"audit": 2, "history": 2, "handed": 3, "step": (NOW, 3)}
    assert fresh(first).handed_at == NOW
    assert fresh(later).handed_at == NOW + timedelta(days=1)


def test_the_deputy_of_the_victims_team_may_download_it(app, org, frozen):
    incident = report(org)
    choose(org, *add(org, incident, ("one.png", "red")))
    deputy = login(app.test_client(), org["deputy"])
    assert "Download the police bundle (ZIP)" in deputy.get(f"/incidents/{incident.id}").text
    assert download(deputy, incident).status_code == 200


@pytest.mark.parametrize(
    "who", ["victim", "reporter", "witness", "boss2", "unrelated_manager", "hr", "admin"]
)
def test_only_the_managers_of_the_incident_get_the_bundle(app, org, frozen, who):
    incident = report(org)
    choose(org, *add(org, incident, ("one.png", "red")))
    client = login(app.test_client(), org[who])

    response = download(client, incident)

    assert response.status_code == 404
    assert recorded(incident.id) == NOTHING
    page = client.get(f"/incidents/{incident.id}")
    assert "police-bundle" not in page.text


def test_a_get_is_405_and_a_post_without_csrf_token_is_400(app, org, frozen):
    incident = report(org)
    choose(org, *add(org, incident, ("one.png", "red")))
    boss = login(app.test_client(), org["boss"])

    assert boss.get(f"/incidents/{incident.id}/police-bundle").status_code == 405
    assert boss.post(f"/incidents/{incident.id}/police-bundle", csrf=False).status_code == 400
    assert recorded(incident.id) == NOTHING


def test_an_unknown_incident_is_404(app, org, frozen):
    boss = login(app.test_client(), org["boss"])
    assert boss.post("/incidents/999999/police-bundle").status_code == 404


def test_a_store_failure_changes_nothing_and_says_so(app, org, frozen, monkeypatch):
    incident = report(org)
    choose(org, *add(org, incident, ("one.png", "red")))

    def broken(key: str) -> bytes:
        raise StorageError(f"the store is down: {key}")

    monkeypatch.setattr(services.evidence.store(), "get", broken)
    boss = login(app.test_client(), org["boss"])

    response = download(boss, incident)

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/incidents/{incident.id}#evidence")
    assert recorded(incident.id) == NOTHING
    page = boss.get(response.headers["Location"]).text
    assert "one.png cannot be read from the store right now" in page
    assert 'role="alert"' in page


def test_a_file_that_no_longer_matches_its_checksum_is_not_handed_over(app, org, frozen):
    incident = report(org)
    (attachment,) = add(org, incident, ("one.png", "red"))
    choose(org, attachment)
    services.evidence.store().put(attachment.key, image("blue"))  # changed behind our back
    boss = login(app.test_client(), org["boss"])

    response = download(boss, incident)

    assert response.status_code == 302
    assert recorded(incident.id) == NOTHING
    assert "its SHA-256 differs" in boss.get(response.headers["Location"]).text


def test_the_page_counts_the_chosen_files_for_the_manager_only(app, org, frozen):
    incident = report(org)
    choose(org, *add(org, incident, ("one.png", "red"), ("two.png", "blue")))
    page = login(app.test_client(), org["boss"]).get(f"/incidents/{incident.id}").text
    assert "2 files are chosen for the police." in page
    assert f'action="/incidents/{incident.id}/police-bundle"' in page
    assert "The download is recorded." in page
    victim_page = login(app.test_client(), org["victim"]).get(f"/incidents/{incident.id}").text
    assert "police-bundle" not in victim_page


def test_a_draft_has_no_bundle(app, org, frozen):
    draft = services.save_report(
        org["boss"],
        "police-bundle-draft-1",
        ReportData(affected_ids=[org["victim"].id], types=[IncidentType.THREAT]),
        submit=False,
    )
    assert draft.is_draft
    response = download(login(app.test_client(), org["boss"]), draft)
    assert response.status_code == 302
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == AuditAction.EVIDENCE_BUNDLE)
        )
        == 0
    )
