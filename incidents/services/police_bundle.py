"""The police bundle: the report for the police, the files chosen for them, and their checksums,
in one ZIP, its download recorded.

The bundle is made before anything is written: the report's PDF (made by the caller, always in
Dutch), then each chosen file as the store holds it (photos without their metadata), checked
against the SHA-256 recorded when it was added, then `manifest-sha256.txt` with the checksum of
every other member, in the form `sha256sum -c` reads. Only when all of that worked is the
handover recorded, in one transaction with the incident locked: the audit event, `handed_at` on
the files handed over for the first time, the police-report step's `evidence_handed_at` and
`evidence_files`, and a line in the incident's history. When a file cannot be read, or the
files chosen changed while the bundle was made, nothing is recorded and nothing is handed out.

Who may download it is decided in `incidents.access` (`can_manage_evidence`); the view checks."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _

from incidents.evidence.storage import StorageError
from incidents.extensions import db, org_zone
from incidents.models import (
    AftercareStep,
    Attachment,
    AuditAction,
    Incident,
    IncidentChange,
    User,
    utcnow,
)
from incidents.services.base import ServiceError, audit, lock, transaction
from incidents.services.evidence import police_step, store

MANIFEST = "manifest-sha256.txt"
HISTORY_ACTION = "evidence_handed"  # incidents.labels.HISTORY_ACTIONS


@dataclass(frozen=True)
class Member:
    """One file in the ZIP: its name there, its bytes and their SHA-256."""

    name: str
    data: bytes
    sha256: str


@dataclass(frozen=True)
class Bundle:
    """A police bundle, made and not yet recorded: the ZIP's bytes and what is in it."""

    incident_id: int
    filename: str
    data: bytes
    file_ids: tuple[int, ...]  # the attachments enclosed, in their order
    manifest: str

    @property
    def manifest_sha256(self) -> str:
        return hashlib.sha256(self.manifest.encode()).hexdigest()


@dataclass(frozen=True)
class Summary:
    """What the incident page says about the bundle: the files chosen, and when evidence was
    handed over (the step's record: first handover, files in the latest bundle)."""

    chosen: int
    handed_at: datetime | None
    handed_files: int
    last_handed_at: datetime | None


def chosen(incident: Incident) -> list[Attachment]:
    """The files a manager chose for the police that are still there, in the order added."""
    return [a for a in incident.attachments if a.present and a.for_police]


def member_names(files: Sequence[Attachment]) -> list[str]:
    """The names the files get in the ZIP: "01-photo.jpg", "02-letter.pdf", ...: numbered, so
    two files with the same name stay apart and the report can name each one."""
    width = max(2, len(str(len(files))))
    return [f"{number:0{width}d}-{a.filename}" for number, a in enumerate(files, start=1)]


def report_name(incident_id: int) -> str:
    return f"melding-{incident_id}.pdf"


def summary(incident: Incident) -> Summary:
    """For the incident page (reads only what the page loaded)."""
    step = police_step(incident)
    handed = [c.at for c in incident.changes if c.action == HISTORY_ACTION]
    return Summary(
        chosen=len(chosen(incident)),
        handed_at=step.evidence_handed_at if step else None,
        handed_files=step.evidence_files if step else 0,
        last_handed_at=max(handed) if handed else None,
    )


def make(
    incident: Incident, report_pdf: Callable[[Sequence[Attachment], list[str]], bytes]
) -> Bundle:
    """The bundle of an incident: `report_pdf(files, names)` makes the report that lists them.
    ServiceError when a file cannot be read from the store or no longer matches its checksum;
    nothing is written either way."""
    if incident.is_draft:
        raise ServiceError(
            _("This report is still a draft: submit it before it goes to the police.")
        )
    files = chosen(incident)
    names = member_names(files)
    enclosed = [_read(a, name) for a, name in zip(files, names, strict=True)]
    pdf = report_pdf(files, names)
    members = [Member(report_name(incident.id), pdf, _sha256(pdf)), *enclosed]
    manifest = "".join(f"{m.sha256}  {m.name}\n" for m in members)
    return Bundle(
        incident_id=incident.id,
        filename=f"politie-incident-{incident.number or incident.id}.zip",
        data=_zipped([*members, Member(MANIFEST, manifest.encode(), "")]),
        file_ids=tuple(a.id for a in files),
        manifest=manifest,
    )


def record(actor: User, bundle: Bundle) -> None:
    """Record that `bundle` was handed out, in one transaction with the incident locked;
    ServiceError (nothing recorded) when the files chosen changed since it was made."""
    with transaction():
        incident = lock(bundle.incident_id)
        if incident.anonymised_at is not None:
            raise ServiceError(_("This incident was anonymised; it can no longer be changed."))
        files = chosen(incident)
        if tuple(a.id for a in files) != bundle.file_ids:
            raise ServiceError(
                _(
                    "The files chosen for the police changed meanwhile. Please download the bundle again."
                )
            )
        now = utcnow()
        for attachment in files:
            if attachment.handed_at is None:
                attachment.handed_at = now
        step: AftercareStep | None = police_step(incident)
        if step is not None:
            if step.evidence_handed_at is None:
                step.evidence_handed_at = now
            step.evidence_files = len(files)
        db.session.add(
            IncidentChange(
                incident=incident,
                at=now,
                actor_id=actor.id,
                action=HISTORY_ACTION,
                fields=[a.filename for a in files],
                version=incident.version,
            )
        )
        audit(
            actor,
            AuditAction.EVIDENCE_BUNDLE,
            incident,
            files=len(files),
            manifest_sha256=bundle.manifest_sha256,
            zip_sha256=_sha256(bundle.data),
        )


def hand_over(
    actor: User,
    incident: Incident,
    report_pdf: Callable[[Sequence[Attachment], list[str]], bytes],
) -> Bundle:
    """Make the police bundle of an incident and record its handover: all of it or nothing."""
    bundle = make(incident, report_pdf)
    record(actor, bundle)
    return bundle


def _read(attachment: Attachment, name: str) -> Member:
    """A chosen file as the store holds it, checked against the SHA-256 recorded when it was
    added; ServiceError when it cannot be read or is not that file."""
    try:
        data = store().get(attachment.key)
    except StorageError as error:
        current_app.logger.error("evidence store: %s", error)
        raise ServiceError(
            _(
                "%(name)s cannot be read from the store right now, so the police bundle "
                "was not made. Nothing was recorded; please try again later.",
                name=attachment.filename,
            )
        ) from error
    checksum = _sha256(data)
    if checksum != attachment.sha256:
        # The stored bytes are not what was added: such a file must not go to the police.
        current_app.logger.error(
            "evidence store: attachment %s has SHA-256 %s, recorded %s",
            attachment.id,
            checksum,
            attachment.sha256,
        )
        raise ServiceError(
            _(
                "%(name)s in the store is not the file that was added (its SHA-256 differs), "
                "so the police bundle was not made. Please tell the administrator.",
                name=attachment.filename,
            )
        )
    return Member(name, data, checksum)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _zipped(members: Sequence[Member]) -> bytes:
    """The members in a ZIP, dated now in the organisation's time zone (ZIP dates are local)."""
    moment = utcnow().astimezone(org_zone()).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member in members:
            info = zipfile.ZipInfo(member.name, date_time=moment)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.data)
    return buffer.getvalue()
