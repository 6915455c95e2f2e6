"""Evidence on an incident, through the pages: files added with a new report and from the
incident page, downloaded as attachments without their metadata, removed with a reason, chosen
for the police; refused files leave nothing behind; every role on every file route."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from incidents import services
from incidents.evidence.storage import StorageError
from incidents.extensions import db
from incidents.models import (
    Attachment,
    AuditEvent,
    Channel,
    Incident,
    IncidentType,
    Notification,
    Role,
)
from incidents.services import ReportData
from incidents.services.evidence import Upload, store
from tests.conftest import login

GPS = 0x8825  # the EXIF tag of the GPS block


def photo(fmt: str = "JPEG", size: tuple[int, int] = (40, 30)) -> bytes:
    """A small photo with a camera serial and a GPS position in its EXIF data."""
    image = Image.new("RGB", size, (200, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # make
    exif[0xA431] = "SERIAL-12345"  # body serial number
    exif[GPS] = {1: "N", 2: (52.0, 21.0, 0.0), 3: "E", 4: (5.0, 7.0, 0.0)}
    out = io.BytesIO()
    image.save(out, format=fmt, exif=exif.tobytes())
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture
def org(make_user, make_team):
    boss = make_user(Role.MANAGER, name="Boss Manager")
    other_boss = make_user(Role.MANAGER, name="Other Manager")
    team = make_team("Counter", manager=boss)
    make_team("Elsewhere", manager=other_boss)
    reporter = make_user(name="Rita Reporter", team=team)
    return {
        "boss": boss,
        "other_boss": other_boss,
        "reporter": reporter,
        "affected": make_user(name="Alex Affected", team=team),
        "witness": make_user(name="Wim Witness", team=team),
        "hr": make_user(Role.HR, name="Hanna HR"),
        "admin": make_user(Role.ADMIN, name="Ada Admin"),
        "stranger": make_user(name="Sam Stranger"),
    }


def incident_of(org, token="evidence-token-0001") -> Incident:
    return services.save_report(
        org["reporter"],
        token,
        ReportData(
            occurred_at=None,
            channel=Channel.COUNTER,
            types=[IncidentType.THREAT],
            description="Threatened at the counter.",
            affected_ids=[org["reporter"].id, org["affected"].id],
            witness_ids=[org["witness"].id],
        ),
        submit=False,
    )


def submitted(org, token="evidence-token-0002") -> Incident:
    from datetime import UTC, datetime, timedelta

    return services.save_report(
        org["reporter"],
        token,
        ReportData(
            occurred_at=datetime.now(UTC) - timedelta(hours=1),
            channel=Channel.COUNTER,
            types=[IncidentType.THREAT],
            description="Threatened at the counter.",
            affected_ids=[org["reporter"].id, org["affected"].id],
            witness_ids=[org["witness"].id],
        ),
        submit=True,
    )


def add(client, incident_id: int, *files: tuple[str, bytes]):
    return client.post(
        f"/incidents/{incident_id}/evidence",
        data={"files": [(io.BytesIO(data), name) for name, data in files]},
        content_type="multipart/form-data",
    )


def stored_files(app) -> set[str]:
    root = Path(app.config["EVIDENCE_STORAGE"].removeprefix("file://"))
    return {p.name for p in root.rglob("*") if p.is_file()}


def attachments() -> list[Attachment]:
    db.session.expire_all()
    return list(db.session.scalars(select(Attachment).order_by(Attachment.id)))


def test_a_photo_sent_with_a_new_report_is_on_the_incident_without_its_metadata(app, client, org):
    login(client, org["reporter"])
    token = "new-report-token-with-photo"
    response = client.post(
        f"/incidents/new?t={token}",
        data={
            "submission_token": token,
            "occurred_at": "2026-11-30T10:00",
            "channel": "counter",
            "types": ["threat"],
            "description": "Threatened, photo of the damage attached.",
            "affected_self": "y",
            "perpetrator_known": "unknown",
            "submit": "Submit report",
            "files": [(io.BytesIO(photo()), "IMG_0001.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.text[:400]
    page = client.get(response.headers["Location"]).text
    [attachment] = attachments()
    assert attachment.filename == "IMG_0001.jpg" and attachment.kind == "jpeg"
    url = f"/incidents/{attachment.incident_id}/evidence/{attachment.id}"
    assert f'src="{url}"' in page and "IMG_0001.jpg" in page
    download = client.get(url)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "image/jpeg"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "no-store"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    image = Image.open(io.BytesIO(download.data))
    assert not image.getexif() and "exif" not in image.info
    assert b"SERIAL-12345" not in download.data and b"PhoneMaker" not in download.data
    import hashlib

    assert hashlib.sha256(download.data).hexdigest() == attachment.sha256
    assert attachment.size == len(download.data)


@pytest.mark.parametrize(
    ("name", "data", "kind", "content_type"),
    [
        ("a.jpg", photo("JPEG"), "jpeg", "image/jpeg"),
        ("b.png", photo("PNG"), "png", "image/png"),
        ("c.webp", photo("WEBP"), "webp", "image/webp"),
        ("d.pdf", PDF, "pdf", "application/pdf"),
        ("e.txt", b"Dreigende tekst: ik weet waar u woont.\n", "text", "text/plain"),
        (
            "f.eml",
            b"From: a@example.org\r\nTo: b@example.org\r\nSubject: dreiging\r\n\r\nBody\r\n",
            "eml",
            "message/rfc822",
        ),
    ],
)
def test_each_type_round_trips_from_the_incident_page(
    app, client, org, name, data, kind, content_type
):
    incident = submitted(org)
    login(client, org["affected"])
    response = add(client, incident.id, (name, data))
    assert response.status_code == 302, response.text[:600]
    [attachment] = attachments()
    assert attachment.kind == kind
    download = client.get(f"/incidents/{incident.id}/evidence/{attachment.id}")
    assert download.headers["Content-Type"].startswith(content_type)
    assert download.headers["Content-Disposition"].startswith("attachment;")
    if not content_type.startswith("image/"):
        assert download.data == data  # stored as it is


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.jpg", b""),
        ("archive.zip", b"PK\x03\x04" + b"\x00" * 60),
        ("photo.jpg", b"MZ\x90\x00" + b"\x00" * 200),  # a renamed Windows program
        ("broken.jpg", photo()[:120]),
        ("page.txt", b"<html><script>alert(1)</script></html>"),
    ],
)
def test_a_refused_file_gets_a_message_next_to_the_field_and_nothing_is_stored(
    app, client, org, name, data
):
    incident = submitted(org)
    before = stored_files(app)
    login(client, org["reporter"])
    response = add(client, incident.id, ("fine.png", photo("PNG")), (name, data))
    assert response.status_code == 400
    assert re.search(r'<p class="error" id="files-error">[^<]+</p>', response.text)
    assert attachments() == []
    assert stored_files(app) == before


def test_a_report_with_a_refused_file_is_not_stored(app, client, org):
    login(client, org["reporter"])
    token = "new-report-token-refused-file"
    response = client.post(
        f"/incidents/new?t={token}",
        data={
            "submission_token": token,
            "occurred_at": "2026-11-30T10:00",
            "channel": "counter",
            "types": ["threat"],
            "description": "With a program attached.",
            "affected_self": "y",
            "perpetrator_known": "unknown",
            "submit": "Submit report",
            "files": [(io.BytesIO(b"\x7fELF" + b"\x00" * 100), "photo.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert 'id="files-error"' in response.text
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 0


def test_at_most_the_configured_number_of_files(app, client, org, monkeypatch):
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_FILES", 2)
    incident = submitted(org)
    login(client, org["reporter"])
    assert (
        add(client, incident.id, ("1.png", photo("PNG")), ("2.png", photo("PNG"))).status_code
        == 302
    )
    response = add(client, incident.id, ("3.png", photo("PNG")))
    assert response.status_code == 400 and 'id="files-error"' in response.text
    assert len(attachments()) == 2


def test_a_file_over_the_size_limit_is_refused(app, client, org, monkeypatch):
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", 1000)
    incident = submitted(org)
    login(client, org["reporter"])
    response = add(client, incident.id, ("big.pdf", PDF + b"%" * 2000))
    assert response.status_code == 400 and 'id="files-error"' in response.text
    assert attachments() == []


def test_a_store_that_fails_halfway_leaves_neither_rows_nor_files(app, client, org, monkeypatch):
    incident = submitted(org)
    before = stored_files(app)
    storage = store()
    real_put, calls = storage.put, []

    def failing_put(key: str, data: bytes) -> None:
        calls.append(key)
        if len(calls) == 2:
            raise StorageError("disk full")
        real_put(key, data)

    monkeypatch.setattr(storage, "put", failing_put)
    login(client, org["reporter"])
    response = add(client, incident.id, ("1.png", photo("PNG")), ("2.png", photo("PNG")))
    assert response.status_code == 400 and 'id="files-error"' in response.text
    assert attachments() == [] and stored_files(app) == before


def test_a_failing_transaction_takes_the_stored_files_out_again(app, org, monkeypatch):
    incident = submitted(org)
    before = stored_files(app)

    def broken(*_args, **_kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services.evidence, "attach", broken)
    with pytest.raises(RuntimeError):
        services.evidence.add_files(org["reporter"], incident, [Upload("a.png", photo("PNG"))])
    db.session.rollback()
    assert attachments() == [] and stored_files(app) == before


def test_removing_a_file_needs_a_reason_is_recorded_and_deletes_the_bytes(app, client, org):
    incident = submitted(org)
    [attachment] = services.evidence.add_files(
        org["reporter"], incident, [Upload("wrong.png", photo("PNG"))]
    )
    key, attachment_id = attachment.key, attachment.id
    login(client, org["reporter"])
    url = f"/incidents/{incident.id}/evidence/{attachment_id}/remove"
    refused = client.post(url, data={f"remove-{attachment_id}-reason": ""})
    assert refused.status_code == 400
    assert f'id="remove-{attachment_id}-reason-error"' in refused.text
    assert store().exists(key)
    done = client.post(url, data={f"remove-{attachment_id}-reason": "Wrong photo"})
    assert done.status_code == 302
    [removed] = attachments()
    assert removed.removed_reason == "Wrong photo" and removed.removed_by_id == org["reporter"].id
    assert not store().exists(key)
    assert client.get(f"/incidents/{incident.id}/evidence/{attachment_id}").status_code == 404
    page = client.get(f"/incidents/{incident.id}").text
    assert "Wrong photo" in page
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "evidence.remove")
        )
        == 1
    )


def test_originals_are_kept_only_when_chosen_and_only_for_the_managers(app, client, org):
    incident = submitted(org)
    [plain] = services.evidence.add_files(org["reporter"], incident, [Upload("a.jpg", photo())])
    assert plain.original_key is None
    services.evidence.set_keep_originals(org["admin"], True)
    [kept] = services.evidence.add_files(org["reporter"], incident, [Upload("b.jpg", photo())])
    assert kept.original_key is not None
    url = f"/incidents/{incident.id}/evidence/{kept.id}/original"
    login(client, org["reporter"])
    assert client.get(url).status_code == 404
    manager = login(app.test_client(), org["boss"])
    original = manager.get(url)
    assert original.status_code == 200
    assert original.headers["Content-Disposition"].startswith("attachment;")
    assert b"SERIAL-12345" in original.data  # as it was uploaded, for the police
    assert manager.get(f"/incidents/{incident.id}/evidence/{plain.id}/original").status_code == 404


def test_a_manager_chooses_files_for_the_police(app, org):
    incident = submitted(org)
    [attachment] = services.evidence.add_files(
        org["reporter"], incident, [Upload("a.png", photo("PNG"))]
    )
    manager = login(app.test_client(), org["boss"])
    url = f"/incidents/{incident.id}/evidence/{attachment.id}/police"
    assert manager.post(url, data={"chosen": "1"}).status_code == 302
    assert attachments()[0].for_police
    reporter = login(app.test_client(), org["reporter"])
    assert reporter.post(url, data={"chosen": "0"}).status_code == 404
    assert attachments()[0].for_police


ROUTES = (
    ("GET", "/incidents/{i}/evidence/{a}"),
    ("GET", "/incidents/{i}/evidence/{a}/original"),
    ("POST", "/incidents/{i}/evidence/{a}/remove"),
    ("POST", "/incidents/{i}/evidence/{a}/police"),
    ("POST", "/incidents/{i}/evidence"),
)


def test_every_role_on_every_file_route(app, org):
    """Who sees the files: the reporter, an affected colleague and the team's manager; a
    witness, HR, an admin, another team's manager and a stranger get 404 on every route, and
    the page shows them no file."""
    incident = submitted(org)
    services.evidence.set_keep_originals(org["admin"], True)
    [attachment] = services.evidence.add_files(
        org["reporter"], incident, [Upload("secret-photo.jpg", photo())]
    )
    for name in ("witness", "hr", "admin", "other_boss", "stranger"):
        client = login(app.test_client(), org[name])
        page = client.get(f"/incidents/{incident.id}")
        assert "secret-photo.jpg" not in page.text, name
        for method, pattern in ROUTES:
            url = pattern.format(i=incident.id, a=attachment.id)
            data = {"chosen": "1", f"remove-{attachment.id}-reason": "x"}
            response = client.get(url) if method == "GET" else client.post(url, data=data)
            assert response.status_code == 404, (name, url, response.status_code)
    assert attachments()[0].present and not attachments()[0].for_police
    for name in ("reporter", "affected", "boss"):
        client = login(app.test_client(), org[name])
        assert "secret-photo.jpg" in client.get(f"/incidents/{incident.id}").text, name
        assert client.get(f"/incidents/{incident.id}/evidence/{attachment.id}").status_code == 200


def test_a_file_of_another_incident_is_not_found_through_this_one(app, org):
    mine = submitted(org, "evidence-token-mine")
    theirs = services.save_report(
        org["stranger"],
        "evidence-token-theirs",
        ReportData(
            occurred_at=mine.occurred_at,
            channel=Channel.PHONE,
            types=[IncidentType.VERBAL],
            description="Shouted on the phone.",
            affected_ids=[org["stranger"].id],
        ),
        submit=True,
    )
    [foreign] = services.evidence.add_files(
        org["stranger"], theirs, [Upload("theirs.png", photo("PNG"))]
    )
    client = login(app.test_client(), org["reporter"])
    assert client.get(f"/incidents/{mine.id}/evidence/{foreign.id}").status_code == 404
    assert (
        client.post(
            f"/incidents/{mine.id}/evidence/{foreign.id}/remove",
            data={f"remove-{foreign.id}-reason": "x"},
        ).status_code
        == 404
    )
    assert attachments()[0].present


def test_mails_and_the_calendar_never_mention_files(app, org):
    """A file name can say much ("bruised-arm.jpg"): no mail and no calendar entry tells it,
    nor that there are files at all."""
    from datetime import UTC, datetime

    from incidents import notify
    from incidents.aftercare.calendar import build_feed

    incident = submitted(org)
    services.evidence.add_files(org["reporter"], incident, [Upload("bruised-arm.jpg", photo())])
    notes = list(db.session.scalars(select(Notification)))
    assert notes, "the report queued mails"
    with app.test_request_context():
        for note in notes:
            mail = notify.compose(note)
            for text in (mail.subject, mail.text, mail.html):
                assert "bruised-arm" not in text and "jpg" not in text
        feed = build_feed(org["boss"], datetime.now(UTC)).decode()
    assert "bruised-arm" not in feed and "jpg" not in feed


def test_a_name_with_path_parts_and_control_characters_is_cleaned(app, client, org):
    incident = submitted(org)
    login(client, org["reporter"])
    response = add(client, incident.id, ("..\\..\\Windows/evil\x07\u202ename.png", photo("PNG")))
    assert response.status_code == 302
    [attachment] = attachments()
    assert attachment.filename == "evilname.png"
    download = client.get(f"/incidents/{incident.id}/evidence/{attachment.id}")
    assert download.headers["Content-Disposition"] == "attachment; filename=evilname.png"


def test_an_image_bomb_is_refused_without_decoding_it(app, client, org):
    """A PNG whose header claims 50,000 x 50,000 pixels (a few hundred bytes on disk)."""
    import struct
    import zlib

    small = photo("PNG", (2, 2))
    header = struct.pack(">II", 50_000, 50_000) + small[24:29]
    bomb = small[:16] + header + struct.pack(">I", zlib.crc32(b"IHDR" + header)) + small[33:]
    incident = submitted(org)
    login(client, org["reporter"])
    response = add(client, incident.id, ("bomb.png", bomb))
    assert response.status_code == 400 and 'id="files-error"' in response.text
    assert attachments() == []
