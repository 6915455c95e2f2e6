"""The organisation's contacts on the "What happens now" help page, chosen by an admin.

Four contacts, each with a name, a phone number, an e-mail or other address and a short free
text: the confidential adviser, company social work, Victim Support Netherlands
(Slachtofferhulp Nederland) and the police. Until an admin saves them, Victim Support and the
police have their national numbers; an empty contact is not shown. The emergency number (112)
is always on the page and is not a setting.

Stored as one `Setting` ("help_contacts"); a change is one transaction with its audit event,
which names the fields that changed.
"""

from __future__ import annotations

import enum
import re
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.exc import IntegrityError

from incidents.extensions import db
from incidents.models import AuditAction, Setting, User, utcnow
from incidents.services.base import InvalidInput, audit, transaction

SETTING = "help_contacts"


class ContactKind(enum.StrEnum):
    """Whom the help page names, in the order it shows them."""

    CONFIDENTIAL_ADVISER = "confidential_adviser"
    SOCIAL_WORK = "social_work"
    VICTIM_SUPPORT = "victim_support"
    POLICE = "police"


@dataclass(frozen=True)
class Contact:
    """One contact as the admin entered it; every part may be empty."""

    name: str = ""
    phone: str = ""
    address: str = ""  # an e-mail address, a postal or web address
    text: str = ""  # e.g. opening hours, or when to call

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, f.name).strip() for f in fields(self))


PARTS = tuple(f.name for f in fields(Contact))
LIMITS = {"name": 120, "phone": 30, "address": 200, "text": 500}
_PHONE = re.compile(r"\+?[0-9][0-9 ()\-]*")

DEFAULTS: dict[ContactKind, Contact] = {
    ContactKind.CONFIDENTIAL_ADVISER: Contact(),
    ContactKind.SOCIAL_WORK: Contact(),
    ContactKind.VICTIM_SUPPORT: Contact(name="Slachtofferhulp Nederland", phone="0900-0101"),
    ContactKind.POLICE: Contact(phone="0900-8844"),
}


def field_name(kind: ContactKind, part: str) -> str:
    """The form field of one part of a contact, which a problem is reported against."""
    return f"{kind.value}_{part}"


def help_contacts() -> dict[ContactKind, Contact]:
    """Every contact, in page order: as the admin saved it, else the default."""
    setting = db.session.get(Setting, SETTING)
    stored = setting.value if setting is not None and isinstance(setting.value, dict) else {}
    return {kind: _contact(stored.get(kind.value), DEFAULTS[kind]) for kind in ContactKind}


def _contact(value: Any, default: Contact) -> Contact:
    if not isinstance(value, dict):
        return default
    return Contact(**{part: str(value.get(part) or "") for part in PARTS})


def problems(contacts: dict[ContactKind, Contact]) -> dict[str, str]:
    """What is wrong with `contacts`, by form field: too long, or a phone number that is not
    one. Empty is fine (the contact is then not shown)."""
    found: dict[str, str] = {}
    for kind, contact in contacts.items():
        for part in PARTS:
            value: str = getattr(contact, part)
            if len(value) > LIMITS[part]:
                found[field_name(kind, part)] = ngettext(
                    "Keep it under %(num)s character.",
                    "Keep it under %(num)s characters.",
                    LIMITS[part],
                )
        phone = contact.phone.strip()
        if phone and not is_phone(phone):
            found.setdefault(field_name(kind, "phone"), phone_message())
    return found


def is_phone(value: str) -> bool:
    """Digits, spaces, a leading +, hyphens and brackets: 0900-0101, +31 (0)20 123 4567."""
    return _PHONE.fullmatch(value.strip()) is not None


def phone_message() -> str:
    return _("Enter a phone number: digits, spaces, +, - and brackets only.")


def set_help_contacts(actor: User, contacts: dict[ContactKind, Contact]) -> list[str]:
    """Save the contacts (every kind; surrounding spaces removed). Returns the fields that
    changed, as "kind.part"; nothing changed: nothing is written or audited."""
    cleaned = {
        kind: replace(
            contacts.get(kind, Contact()),
            **{part: getattr(contacts.get(kind, Contact()), part).strip() for part in PARTS},
        )
        for kind in ContactKind
    }
    found = problems(cleaned)
    if found:
        raise InvalidInput(found)
    try:
        return _save(actor, cleaned)
    except IntegrityError:  # another admin saved the first version at the same moment
        return _save(actor, cleaned)


def _save(actor: User, contacts: dict[ContactKind, Contact]) -> list[str]:
    with transaction():
        setting = db.session.get(Setting, SETTING, with_for_update=True)
        before = help_contacts()
        changed = [
            f"{kind.value}.{part}"
            for kind in ContactKind
            for part in PARTS
            if getattr(before[kind], part) != getattr(contacts[kind], part)
        ]
        if not changed:
            return []
        value = {kind.value: asdict(contact) for kind, contact in contacts.items()}
        if setting is None:
            setting = Setting(name=SETTING, value=value)
            db.session.add(setting)
        setting.value = value
        setting.updated_at = utcnow()
        audit(actor, AuditAction.SETTINGS_HELP_CONTACTS, None, changed=changed)
        return changed
