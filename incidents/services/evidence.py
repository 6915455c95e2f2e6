"""Evidence on an incident: adding files, choosing them for the police, removing them.

A file is checked and made safe first (`incidents.evidence.files`: its type from its content,
images re-encoded without metadata), then its bytes are put in the evidence store, and only
then is its row written, in one transaction with the incident locked. When anything fails,
what was put in the store is taken out again: there is never a row without a file, nor a file
without a row. Removing a file is recorded (who, why) and the bytes are deleted from the store
once the removal is committed.

Who may do what is decided in `incidents.access`; the views check it before calling here."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from incidents.evidence.files import Prepared, Refused, prepare
from incidents.evidence.storage import Storage, StorageError, new_key, storage_for
from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    Attachment,
    AuditAction,
    Incident,
    IncidentChange,
    Setting,
    User,
    utcnow,
)
from incidents.rules import StepKind
from incidents.services.base import InvalidInput, ServiceError, audit, lock, transaction

FIELD = "files"  # the form field errors are shown next to
KEEP_ORIGINALS = "evidence_keep_originals"  # Setting: keep the uploads as they were
REASON_MAX = 200


@dataclass(frozen=True)
class Upload:
    """A file as the browser sent it: its name and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Stored:
    """A prepared file whose bytes are in the store under `key` (and `original_key`)."""

    prepared: Prepared
    key: str
    original_key: str | None


def store() -> Storage:
    """The evidence store of this app (a folder under the instance path by default)."""
    found: Storage | None = current_app.extensions.get("incidents.evidence")
    if found is None:
        found = storage_for(current_app.config["EVIDENCE_STORAGE"], current_app.instance_path)
        current_app.extensions["incidents.evidence"] = found
    return found


def keep_originals() -> bool:
    setting = db.session.get(Setting, KEEP_ORIGINALS)
    return bool(setting is not None and setting.value)


def set_keep_originals(actor: User, keep: bool) -> None:
    with transaction():
        setting = db.session.get(Setting, KEEP_ORIGINALS)
        if setting is None:
            setting = Setting(name=KEEP_ORIGINALS, value=keep)
            db.session.add(setting)
        setting.value = keep
        setting.updated_at = utcnow()
        audit(actor, AuditAction.SETTINGS_KEEP_ORIGINALS, None, keep=keep)


def check(uploads: Sequence[Upload], present: int = 0) -> list[Prepared]:
    """Every upload checked and made safe, or InvalidInput naming the first that is not; also
    when they would take the incident over the limit of files."""
    config = current_app.config
    check_room(present, len(uploads))
    originals = bool(uploads) and keep_originals()
    try:
        return [
            prepare(
                u.name, u.data, max_bytes=int(config["EVIDENCE_MAX_BYTES"]), keep_original=originals
            )
            for u in uploads
        ]
    except Refused as refused:
        raise InvalidInput({FIELD: refused.message}) from refused


@contextmanager
def stored(prepared: Sequence[Prepared]) -> Iterator[list[Stored]]:
    """Put the files in the store for the block, which writes their rows; when the block
    fails, take them out again."""
    put: list[str] = []  # the keys in the store so far
    storage = store()
    try:
        files = []
        for file in prepared:
            key = new_key()
            original_key = f"{key}.orig" if file.original is not None else None
            for name, data in ((key, file.data), (original_key, file.original)):
                if name is not None and data is not None:
                    storage.put(name, data)
                    put.append(name)
            files.append(Stored(file, key, original_key))
        yield files
    except StorageError as error:
        delete_bytes(put)
        current_app.logger.error("evidence store: %s", error)
        raise ServiceError(
            _("The files could not be stored. Nothing was saved; please try again."), FIELD
        ) from error
    except BaseException:
        delete_bytes(put)
        raise


def attach(actor: User, incident: Incident, files: Sequence[Stored]) -> list[Attachment]:
    """Rows for stored files, inside the caller's transaction (the incident locked)."""
    now = utcnow()
    added = [
        Attachment(
            incident=incident,
            key=file.key,
            original_key=file.original_key,
            filename=file.prepared.filename,
            kind=str(file.prepared.kind),
            content_type=file.prepared.content_type,
            size=file.prepared.size,
            sha256=file.prepared.sha256,
            added_by_id=actor.id,
            added_at=now,
        )
        for file in files
    ]
    db.session.add_all(added)
    if added:
        db.session.add(
            IncidentChange(
                incident=incident,
                at=now,
                actor_id=actor.id,
                action="evidence_added",
                fields=[a.filename for a in added],
                version=incident.version,
            )
        )
        for attachment in added:
            audit(
                actor,
                AuditAction.EVIDENCE_ADD,
                incident,
                sha256=attachment.sha256,
                size=attachment.size,
            )
    return added


def add_files(actor: User, incident: Incident, uploads: Sequence[Upload]) -> list[Attachment]:
    """Add files to an incident, all or none."""
    if not uploads:
        raise InvalidInput({FIELD: _("Choose one or more files.")})
    prepared = check(uploads, present=_present(incident))
    with stored(prepared) as files, transaction():
        incident = lock(incident.id)
        if incident.anonymised_at is not None:
            raise ServiceError(_("This incident was anonymised; it can no longer be changed."))
        check_room(_present(incident), len(files))
        return attach(actor, incident, files)


def check_room(present: int, adding: int) -> None:
    """InvalidInput when `adding` files would take an incident holding `present` over the
    limit (checked before the upload is looked at, and again under the incident's lock)."""
    limit = int(current_app.config["EVIDENCE_MAX_FILES"])
    if present + adding > limit:
        raise InvalidInput(
            {
                FIELD: ngettext(
                    "An incident holds at most %(num)d file.",
                    "An incident holds at most %(num)d files.",
                    limit,
                )
                + " "
                + _("It has %(present)s already.", present=present)
            }
        )


def _present(incident: Incident) -> int:
    return sum(1 for a in incident.attachments if a.present)


def remove_file(actor: User, attachment: Attachment, reason: str) -> None:
    """Remove a file: recorded with who and why; its bytes leave the store after the commit."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput({"reason": _("Say why the file is removed.")})
    if len(reason) > REASON_MAX:
        raise InvalidInput(
            {
                "reason": ngettext(
                    "At most %(num)s character.", "At most %(num)s characters.", REASON_MAX
                )
            }
        )
    with transaction():
        incident = lock(attachment.incident_id)
        db.session.refresh(attachment)
        if not attachment.present:
            raise ServiceError(_("This file was removed already."))
        now = utcnow()
        attachment.removed_at, attachment.removed_by_id = now, actor.id
        attachment.removed_reason = reason
        attachment.for_police = False
        keys = [k for k in (attachment.key, attachment.original_key) if k]
        db.session.add(
            IncidentChange(
                incident=incident,
                at=now,
                actor_id=actor.id,
                action="evidence_removed",
                fields=[attachment.filename],
                version=incident.version,
            )
        )
        audit(actor, AuditAction.EVIDENCE_REMOVE, incident, sha256=attachment.sha256, reason=reason)
    delete_bytes(keys)


def delete_bytes(keys: Sequence[str]) -> None:
    """Delete from the store what no row holds any more (after the commit that let go of it)."""
    storage = store()
    for key in keys:
        try:
            storage.delete(key)
        except StorageError as error:
            current_app.logger.error("evidence store: could not delete %s: %s", key, error)


def choose_for_police(actor: User, attachment: Attachment, chosen: bool) -> None:
    with transaction():
        lock(attachment.incident_id)
        db.session.refresh(attachment)
        if not attachment.present:
            raise ServiceError(_("This file was removed already."))
        attachment.for_police = chosen
        audit(
            actor,
            AuditAction.EVIDENCE_POLICE,
            attachment.incident,
            sha256=attachment.sha256,
            chosen=chosen,
        )


def read(actor: User, attachment: Attachment, original: bool = False) -> bytes:
    """The bytes of a file (or of its kept original), audited; the caller checked access."""
    key = attachment.original_key if original else attachment.key
    if not attachment.present or key is None:
        raise ServiceError(_("This file was removed."))
    try:
        data = store().get(key)
    except StorageError as error:
        current_app.logger.error("evidence store: %s", error)
        raise ServiceError(_("This file cannot be read from the store right now.")) from error
    with transaction():
        audit(
            actor,
            AuditAction.EVIDENCE_ORIGINAL if original else AuditAction.EVIDENCE_DOWNLOAD,
            attachment.incident,
            attachment=attachment.id,
        )
    return data


def police_step(incident: Incident) -> AftercareStep | None:
    """The incident's police-report step, if the protocol gave it one."""
    return next((s for s in incident.steps if s.kind == StepKind.POLICE_REPORT), None)
