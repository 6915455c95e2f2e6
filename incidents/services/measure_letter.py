"""What the organisation writes in the notice letter of a measure, chosen by an admin.

The letter tells the citizen the measure, its reason and duration, and how to object. The
organisation's part of it is a setting: its name, postal address (several lines) and contact
(a phone number or e-mail address, one line), the text on objecting in Dutch and in English,
and the signatory (a function title, never a person's name). Until an admin saves them, the
name and address come from the configuration (`ORG_NAME`, `ORG_ADDRESS`) and the objection
texts say: within six weeks, in writing, to the address at the top of the letter.

Stored as one `Setting` ("measure_letter"); a change is one transaction with its audit event,
which names the fields that changed.

A letter is made for a measure that is approved or in force, and as a copy once it has ended;
never for a proposal or a withdrawn measure (`letter_possible`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.exc import IntegrityError

from incidents.extensions import db
from incidents.models import AuditAction, Measure, MeasureState, Setting, User, utcnow
from incidents.services.base import InvalidInput, audit, transaction

SETTING = "measure_letter"

# The states a letter is made in: to send (approved, in force), or a copy (ended).
LETTER_STATES = (MeasureState.APPROVED, MeasureState.IN_FORCE, MeasureState.ENDED)

DEFAULT_OBJECTION = {
    "nl": (
        "Bent u het niet eens met deze maatregel? Dan kunt u binnen zes weken na de datum van "
        "deze brief bezwaar maken. Dat doet u schriftelijk: stuur een brief naar het adres "
        "bovenaan deze brief. Zet daarin uw naam en adres, de datum, tegen welke maatregel u "
        "bezwaar maakt en waarom. Onderteken uw brief en stuur een kopie van deze brief mee."
    ),
    "en": (
        "Do you disagree with this measure? Then you may object within six weeks of the date "
        "of this letter. You do so in writing: send a letter to the address at the top of this "
        "letter. Give your name and address, the date, the measure you object to and why. "
        "Sign your letter and enclose a copy of this one."
    ),
}


@dataclass(frozen=True)
class LetterSettings:
    """The organisation's part of the letter, as the admin entered it."""

    org_name: str = ""
    address: str = ""  # several lines: street, postcode and town
    contact: str = ""  # one line: a phone number, an e-mail address
    objection_nl: str = ""
    objection_en: str = ""
    signatory: str = ""  # a function title: "Het college van burgemeester en wethouders"

    @property
    def address_lines(self) -> list[str]:
        return [line.strip() for line in self.address.splitlines() if line.strip()]

    def objection(self, language: str) -> str:
        """How to object, in `language` (Dutch unless English is asked for)."""
        return self.objection_en if language == "en" else self.objection_nl

    def objection_paragraphs(self, language: str) -> list[list[str]]:
        """The objection text as paragraphs (split at blank lines) of lines."""
        paragraphs = self.objection(language).replace("\r\n", "\n").split("\n\n")
        return [
            [line.strip() for line in p.splitlines() if line.strip()]
            for p in paragraphs
            if p.strip()
        ]


PARTS = tuple(f.name for f in fields(LetterSettings))
LIMITS = {
    "org_name": 120,
    "address": 300,
    "contact": 200,
    "objection_nl": 2000,
    "objection_en": 2000,
    "signatory": 120,
}
REQUIRED = frozenset({"org_name", "address", "objection_nl", "objection_en"})
ONE_LINE = frozenset({"org_name", "contact", "signatory"})
ADDRESS_LINES_MAX = 6


def defaults() -> LetterSettings:
    """The letter before an admin saved it: the configured name and address."""
    config = current_app.config
    return LetterSettings(
        org_name=str(config.get("ORG_NAME") or ""),
        address=str(config.get("ORG_ADDRESS") or ""),
        objection_nl=DEFAULT_OBJECTION["nl"],
        objection_en=DEFAULT_OBJECTION["en"],
    )


def letter_settings() -> LetterSettings:
    """As the admin saved it, else the defaults (a damaged setting too)."""
    setting = db.session.get(Setting, SETTING)
    stored = setting.value if setting is not None and isinstance(setting.value, dict) else None
    if stored is None:
        return defaults()
    return LetterSettings(**{part: str(stored.get(part) or "") for part in PARTS})


def letter_possible(measure: Measure, day: date) -> bool:
    """A letter is made for a measure approved or in force on `day`, or (a copy) ended."""
    return measure.state_on(day) in LETTER_STATES


def clean(settings: LetterSettings) -> LetterSettings:
    """Surrounding spaces removed; a one-line part on one line; the address without empty
    lines."""
    values = {part: getattr(settings, part).replace("\r\n", "\n").strip() for part in PARTS}
    for part in ONE_LINE:
        values[part] = " ".join(values[part].split())
    values["address"] = "\n".join(settings.address_lines)
    return replace(settings, **values)


def problems(settings: LetterSettings) -> dict[str, str]:
    """What is wrong with `settings`, by form field: missing, too long, or an address of
    too many lines."""
    found: dict[str, str] = {}
    for part in PARTS:
        value: str = getattr(settings, part)
        if len(value) > LIMITS[part]:
            found[part] = ngettext(
                "Keep it under %(num)s character.",
                "Keep it under %(num)s characters.",
                LIMITS[part],
            )
        elif part in REQUIRED and not value.strip():
            found[part] = _("The letter needs this: fill it in.")
    if "address" not in found and len(settings.address_lines) > ADDRESS_LINES_MAX:
        found["address"] = ngettext(
            "An address has at most %(num)s line.",
            "An address has at most %(num)s lines.",
            ADDRESS_LINES_MAX,
        )
    return found


def set_letter_settings(actor: User, settings: LetterSettings) -> list[str]:
    """Save the letter's settings (cleaned as `clean` does). Returns the parts that changed;
    nothing changed: nothing is written or audited. InvalidInput names the fields at fault."""
    cleaned = clean(settings)
    found = problems(cleaned)
    if found:
        raise InvalidInput(found)
    try:
        return _save(actor, cleaned)
    except IntegrityError:  # another admin saved the first version at the same moment
        return _save(actor, cleaned)


def _save(actor: User, settings: LetterSettings) -> list[str]:
    with transaction():
        setting = db.session.get(Setting, SETTING, with_for_update=True)
        before = letter_settings()
        changed = [p for p in PARTS if getattr(before, p) != getattr(settings, p)]
        if not changed:
            return []
        value: dict[str, Any] = asdict(settings)
        if setting is None:
            setting = Setting(name=SETTING, value=value)
            db.session.add(setting)
        setting.value = value
        setting.updated_at = utcnow()
        audit(actor, AuditAction.SETTINGS_MEASURE_LETTER, None, changed=changed)
        return changed


def record_letter_made(actor: User, measure: Measure, language: str) -> None:
    """Someone made the notice letter of `measure`: in which language, never what it said."""
    with transaction():
        audit(actor, AuditAction.MEASURE_NOTICE, measure, language=language)
