"""Evidence and the right of access: the export lists the files of the incidents the user sees
in full (reporter, affected colleague), never of one they only witnessed; the ZIP holds the
export and the files still held, byte for byte, and is audited like the other exports."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
import time_machine
from PIL import Image
from sqlalchemy import select

from incidents import services
from incidents.evidence.storage import StorageError
from incidents.extensions import db
from incidents.models import AuditEvent, Channel, IncidentType, Role
from incidents.privacy import access_export
from incidents.services.evidence import Upload, add_files, remove_file, store
from tests.conftest import login

NOW = datetime(2026, 1, 6, 9, tzinfo=UTC)
REASON = "Wrong photo, added by mistake"


def photo(colour: tuple[int, int, int]) -> bytes:
    """A small JPEG with a camera serial in its EXIF data (which the stored copy drops)."""
    image = Image.new("RGB", (12, 8), colour)
    exif = Image.Exif()
    exif[0xA431] = "SERIAL-12345"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def world(app, make_user, make_team):
    """X reports an incident affecting Y, witnessed by W, with two photos; the manager removes
    one of them."""
    with time_machine.travel(NOW, tick=False):
        boss = make_user(Role.MANAGER, name="Bea Baas")
        team = make_team("Income", manager=boss)
        x = make_user(name="Xander Quist", team=team)
        y = make_user(name="Yara Visser", team=team)
        w = make_user(name="Wilma Zegers", team=team)
        incident = services.save_report(
            x,
            "evidence-privacy-0001",
            services.ReportData(
                occurred_at=datetime(2026, 1, 5, 10, tzinfo=UTC),
                channel=Channel.COUNTER,
                types=[IncidentType.THREAT],
                description="Threatened at the counter.",
                affected_ids=[y.id],
                witness_ids=[w.id],
            ),
            submit=True,
        )
        kept, removed = add_files(
            x,
            incident,
            [
                Upload("counter-camera.jpg", photo((200, 10, 10))),
                Upload("oops.jpg", photo((0, 0, 0))),
            ],
        )
        remove_file(boss, removed, REASON)
    return {"x": x, "y": y, "w": w, "boss": boss}, incident, kept, removed


def export(app, user):
    with time_machine.travel(NOW, tick=False):
        client = login(app.test_client(), user)
        data = json.loads(client.get("/account/data.json").text)
        page = client.get("/account/data").text
    return data, page


def test_the_reporter_and_an_affected_colleague_get_the_files_listed(app, world):
    people, incident, kept, removed = world
    for who, added_by in (("x", "you"), ("y", "employee")):
        data, page = export(app, people[who])
        (shown,) = data["incidents"]
        assert shown["view"] == "full"
        assert shown["files"] == [
            {
                "id": kept.id,
                "name": "counter-camera.jpg",
                "size": kept.size,
                "type": "image/jpeg",
                "sha256": kept.sha256,
                "added_at": NOW.isoformat(),
                "added_by": added_by,  # the reporter as the export names people
                "for_police": False,
                "removed_at": None,
                "removed_by": None,
                "removed_reason": None,
            },
            {
                "id": removed.id,
                "name": "oops.jpg",
                "size": removed.size,
                "type": "image/jpeg",
                "sha256": removed.sha256,
                "added_at": NOW.isoformat(),
                "added_by": added_by,
                "for_police": False,
                "removed_at": NOW.isoformat(),
                "removed_by": "manager",
                "removed_reason": REASON,
            },
        ], who
        assert "counter-camera.jpg" in page and kept.sha256 in page and REASON in page
        if who == "y":
            assert people["x"].name not in json.dumps(data) and people["x"].name not in page
        assert f'id="files-{incident.id}"' in page


def test_a_witness_gets_no_files(app, world):
    people, _incident, kept, removed = world
    data, page = export(app, people["w"])
    (shown,) = data["incidents"]
    assert shown["view"] == "witness" and "files" not in shown
    for text in ("counter-camera.jpg", "oops.jpg", kept.sha256, removed.sha256, REASON):
        assert text not in json.dumps(data) and text not in page, text
    with time_machine.travel(NOW, tick=False):
        response = login(app.test_client(), people["w"]).get("/account/data.zip")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert archive.namelist() == ["my-data.json"]


def test_the_zip_holds_the_export_and_the_files_byte_for_byte(app, world):
    people, incident, kept, _removed = world
    with time_machine.travel(NOW, tick=False):
        client = login(app.test_client(), people["y"])
        response = client.get("/account/data.zip")
        plain = json.loads(client.get("/account/data.json").text)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert (
        response.headers["Content-Disposition"] == 'attachment; filename="my-data-2026-01-06.zip"'
    )
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = archive.namelist()
        # Only the file still held; the removed one is listed in the export, not included.
        assert names == ["my-data.json", f"files/{kept.id}-counter-camera.jpg"]
        listed = json.loads(archive.read("my-data.json"))
        data = archive.read(names[1])
    assert listed["incidents"] == plain["incidents"]
    assert (
        hashlib.sha256(data).hexdigest()
        == kept.sha256
        == listed["incidents"][0]["files"][0]["sha256"]
    )
    assert data == store().get(kept.key) and b"SERIAL-12345" not in data  # the cleaned copy
    assert incident.id == listed["incidents"][0]["id"]
    formats = db.session.scalars(
        select(AuditEvent.details).where(
            AuditEvent.action == "privacy.access_export", AuditEvent.actor_id == people["y"].id
        )
    ).all()
    assert sorted(d["format"] for d in formats) == ["json", "zip"]


def test_a_store_that_fails_gives_no_half_zip(app, world, monkeypatch):
    people, _incident, _kept, _removed = world

    def broken(_key: str) -> bytes:
        raise StorageError("the store is down")

    monkeypatch.setattr(store(), "get", broken)
    with time_machine.travel(NOW, tick=False):
        client = login(app.test_client(), people["x"])
        response = client.get("/account/data.zip")
        assert response.status_code == 302 and response.headers["Location"].endswith(
            "/account/data"
        )
        page = client.get("/account/data").text
    assert "alert" in page
    formats = db.session.scalars(
        select(AuditEvent.details).where(AuditEvent.action == "privacy.access_export")
    ).all()
    assert [d["format"] for d in formats] == ["html"]  # the page; no export was handed out


def test_files_of_an_anonymised_incident_are_listed_without_their_names(app, world):
    people, incident, kept, _removed = world
    incident.closed_at = datetime(2026, 1, 7, tzinfo=UTC)
    db.session.commit()
    later = datetime(2032, 2, 1, tzinfo=UTC)
    with time_machine.travel(later, tick=False):
        services.retention.run_retention(later, 5)
    db.session.expire_all()
    assert not store().exists(kept.key)
    files = access_export.collect(people["x"])["incidents"][0]["files"]
    assert [f["name"] for f in files] == ["", ""]
    assert [(f["removed_by"], f["removed_reason"]) for f in files] == [
        ("system", "retention"),
        ("manager", ""),
    ]
    with time_machine.travel(later, tick=False):
        response = login(app.test_client(), people["x"]).get("/account/data.zip")
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert archive.namelist() == ["my-data.json"]
