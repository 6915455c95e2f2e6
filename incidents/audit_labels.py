"""The audit trail in words, as the administrator's page and its CSV file show it.

One table for every `AuditAction` (a test fails when an action has none), one for the kinds of
object, and one for the detail keys and their values. `describe` turns an entry into "what,
on what, details" in the user's language; the names and incident numbers it needs come from
`incidents.services.audit_log.lookups`, fetched once for a whole page.

Nothing here is marked safe: every text is escaped by the template (or made safe by
`incidents.csvsafe` in a CSV file).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from incidents.i18n import LazyText
from incidents.i18n import lazy_gettext as _l
from incidents.labels import (
    ACCOUNT_FIELD_LABELS,
    FIELD_LABELS,
    OUTCOME_LABELS,
    ROLE_LABELS,
)
from incidents.models import AccountSource, AuditAction

# What an entry records, said of whoever did it ("Ada Admin · Opened the whole incident").
ACTION_LABELS: dict[AuditAction, LazyText] = {
    AuditAction.ACTION_CREATE: _l("Added a corrective action"),
    AuditAction.ACTION_CHANGE: _l("Changed the owner or deadline of a corrective action"),
    AuditAction.ACTION_CLOSE: _l("Recorded what was done for a corrective action"),
    AuditAction.ACTION_REVIEW: _l("Recorded whether a corrective action worked"),
    AuditAction.ACTION_CANCEL: _l("Cancelled a corrective action"),
    AuditAction.ALARM_RECEIVE: _l("Received an alarm"),
    AuditAction.ALARM_REFUSED: _l("Refused an alarm"),
    AuditAction.AUTH_LOGIN: _l("Logged in"),
    AuditAction.AUTH_LOGIN_FAILED: _l("Failed to log in"),
    AuditAction.AUTH_LOGOUT: _l("Logged out"),
    AuditAction.AUTH_OIDC_LOGIN: _l("Logged in with single sign-on"),
    AuditAction.AUTH_OIDC_REFUSED: _l("Was refused single sign-on"),
    AuditAction.AUTH_TWO_FACTOR: _l("Entered a sign-in code"),
    AuditAction.AUTH_TWO_FACTOR_FAILED: _l("Entered a wrong sign-in code"),
    AuditAction.AUTH_RECOVERY_CODE: _l("Used a recovery code"),
    AuditAction.AUTH_SESSION_END: _l("Ended sessions"),
    AuditAction.AUDIT_VIEW: _l("Viewed the audit trail"),
    AuditAction.AUDIT_EXPORT: _l("Exported the audit trail"),
    AuditAction.CONVERSATIONS_SET: _l("Saved counts of conversations"),
    AuditAction.EVIDENCE_ADD: _l("Added a file to the incident"),
    AuditAction.EVIDENCE_DOWNLOAD: _l("Opened a file of the incident"),
    AuditAction.EVIDENCE_ORIGINAL: _l("Downloaded the original of a file"),
    AuditAction.EVIDENCE_POLICE: _l("Chose a file for the police, or took it back"),
    AuditAction.EVIDENCE_BUNDLE: _l("Downloaded the police bundle"),
    AuditAction.EVIDENCE_REMOVE: _l("Removed a file from the incident"),
    AuditAction.DOCTOR_CLOSING: _l("Repaired whether the aftercare is closed"),
    AuditAction.DOCTOR_RECOUNT: _l("Recounted the statistics"),
    AuditAction.INCIDENT_DISCARD: _l("Discarded a draft"),
    AuditAction.INCIDENT_DRAFT: _l("Saved a draft report"),
    AuditAction.INCIDENT_LEGAL_HOLD: _l("Put the incident on legal hold"),
    AuditAction.INCIDENT_LEGAL_HOLD_LIFTED: _l("Lifted the legal hold"),
    AuditAction.INCIDENT_LEVEL: _l("Set the level of the incident"),
    AuditAction.INCIDENT_SUBMIT: _l("Submitted a report"),
    AuditAction.INCIDENT_UPDATE: _l("Added information to the incident"),
    AuditAction.INCIDENT_VIEW: _l("Opened the incident"),
    AuditAction.INCIDENT_VIEW_EDIT: _l("Opened the incident to add information"),
    AuditAction.LOCATION_ARCHIVE: _l("Archived a location"),
    AuditAction.LOCATION_CREATE: _l("Added a location"),
    AuditAction.LOCATION_RESTORE: _l("Restored a location"),
    AuditAction.LOCATION_UPDATE: _l("Changed a location"),
    AuditAction.MAIL_RETRY: _l("Sent a failed e-mail again"),
    AuditAction.MEASURE_PROPOSE: _l("Proposed a measure against a perpetrator"),
    AuditAction.MEASURE_APPROVE: _l("Approved a measure against a perpetrator"),
    AuditAction.MEASURE_HEARING: _l("Recorded the hearing of the citizen"),
    AuditAction.MEASURE_NOTICE: _l("Made the notice letter of a measure"),
    AuditAction.MEASURE_NOTICE_SENT: _l("Recorded that the notice letter was sent"),
    AuditAction.MEASURE_END: _l("Ended a measure before its end date"),
    AuditAction.MEASURE_WITHDRAW: _l("Withdrew a proposed measure"),
    AuditAction.MEASURE_VIEW: _l("Opened a measure"),
    AuditAction.MEASURE_LOOKUP: _l("Looked up measures at the counter"),
    AuditAction.MEASURE_START: _l("A measure came into force"),
    AuditAction.MEASURE_EXPIRE: _l("A measure ended on its end date"),
    AuditAction.MEASURE_REMIND: _l("Reminded the manager that a measure ends soon"),
    AuditAction.MEASURE_ANONYMISE: _l("Removed the personal data of an ended measure"),
    AuditAction.ORG_MEASURE_CREATE: _l("Recorded an organisational measure"),
    AuditAction.ORG_MEASURE_CHANGE: _l("Changed an organisational measure"),
    AuditAction.ORG_MEASURE_END: _l("Ended an organisational measure"),
    AuditAction.ORG_MEASURE_DELETE: _l("Deleted an organisational measure"),
    AuditAction.PRIVACY_ACCESS_EXPORT: _l("Viewed or downloaded their own data"),
    AuditAction.PRIVACY_OVERVIEW: _l("Viewed the privacy overview"),
    AuditAction.RETENTION_ANONYMISE: _l("Anonymised the incident after the retention period"),
    AuditAction.RETENTION_EXPIRE_MEASURE: _l("Ended a measure whose end date had passed"),
    AuditAction.RETENTION_RUN: _l("Ran the retention job"),
    AuditAction.SETTINGS_KEEP_ORIGINALS: _l("Changed whether originals of files are kept"),
    AuditAction.SETTINGS_HELP_CONTACTS: _l("Changed the contacts on the help page"),
    AuditAction.SETTINGS_MEASURE_LETTER: _l("Changed the notice letter of measures"),
    AuditAction.SETTINGS_COORDINATOR: _l("Chose the aftercare coordinator"),
    AuditAction.STATS_EXPORT: _l("Downloaded statistics as a CSV file"),
    AuditAction.STATS_REPORT: _l("Viewed the yearly report"),
    AuditAction.STATS_REPORT_PDF: _l("Downloaded the yearly report as a PDF"),
    AuditAction.STATS_VIEW: _l("Viewed the statistics"),
    AuditAction.STEP_ATTEMPT: _l("Recorded an attempt to reach the employee"),
    AuditAction.STEP_COMPLETE: _l("Recorded an aftercare step"),
    AuditAction.STEP_HAND: _l("Handed an aftercare step to another manager"),
    AuditAction.STEP_OWNER: _l("Gave an aftercare step another owner"),
    AuditAction.STEP_POLICE_OUTCOME: _l("Recorded the outcome of the police report"),
    AuditAction.STEP_POLICE_REFERENCE: _l("Added or changed the number of the police report"),
    AuditAction.STEP_CORRECT: _l("Corrected a recorded aftercare step"),
    AuditAction.STEP_VIEW: _l("Opened an aftercare step"),
    AuditAction.TEAM_ACTIVATE: _l("Reactivated a team"),
    AuditAction.TEAM_CREATE: _l("Created a team"),
    AuditAction.TEAM_DEACTIVATE: _l("Deactivated a team"),
    AuditAction.TEAM_UPDATE: _l("Changed a team"),
    AuditAction.USER_ABSENT: _l("Reported being absent"),
    AuditAction.USER_ACTIVATE: _l("Reactivated an account"),
    AuditAction.USER_CALENDAR_RENEW: _l("Renewed their calendar address"),
    AuditAction.USER_CREATE: _l("Created an account"),
    AuditAction.USER_DEACTIVATE: _l("Deactivated an account"),
    AuditAction.USER_PASSWORD: _l("Changed a password"),
    AuditAction.USER_PASSWORD_LINK: _l("Sent a link to set a password"),
    AuditAction.USER_PASSWORD_SET: _l("Set a password through a link"),
    AuditAction.USER_PRESENT: _l("Reported being back"),
    AuditAction.USER_TEAM_ROLE: _l("Changed a team's manager or deputy"),
    AuditAction.USER_UPDATE: _l("Changed an account"),
    AuditAction.USER_TWO_FACTOR_ON: _l("Switched two-factor sign-in on"),
    AuditAction.USER_TWO_FACTOR_OFF: _l("Switched two-factor sign-in off"),
    AuditAction.USER_RECOVERY_CODES: _l("Made new recovery codes"),
    AuditAction.SCIM_TOKEN_CREATE: _l("Created a provisioning (SCIM) token"),
    AuditAction.SCIM_TOKEN_REVOKE: _l("Revoked a provisioning (SCIM) token"),
    AuditAction.SCIM_REQUEST: _l("Changed an account or team through provisioning (SCIM)"),
    AuditAction.IMPORT_DRY_RUN: _l("Tried an organisation import (dry run)"),
    AuditAction.IMPORT_APPLY: _l("Applied an organisation import"),
}

# A more precise wording when one detail says it all: (action, key, value) -> label. That
# detail is then not repeated among the details.
ACTION_VARIANTS: dict[tuple[AuditAction, str, object], LazyText] = {
    (AuditAction.INCIDENT_VIEW, "view", "full"): _l("Opened the whole incident"),
    (AuditAction.INCIDENT_VIEW, "view", "witness"): _l("Opened a witness's view of the incident"),
    (AuditAction.INCIDENT_VIEW_EDIT, "view", "full"): _l("Opened the incident to add information"),
    (AuditAction.EVIDENCE_POLICE, "chosen", True): _l("Chose a file for the police"),
    (AuditAction.EVIDENCE_POLICE, "chosen", False): _l("Took a file back from the police bundle"),
    (AuditAction.SCIM_REQUEST, "operation", "create"): _l("Created it through provisioning (SCIM)"),
    (AuditAction.SCIM_REQUEST, "operation", "change"): _l("Changed it through provisioning (SCIM)"),
    (AuditAction.SCIM_REQUEST, "operation", "delete"): _l("Removed it through provisioning (SCIM)"),
}

# The groups of actions (the part before the dot), for the action filter.
ACTION_GROUP_LABELS: dict[str, LazyText] = {
    "action": _l("Corrective actions"),
    "org_measure": _l("Organisational measures"),
    "measure": _l("Measures against perpetrators"),
    "alarm": _l("Alarms"),
    "auth": _l("Signing in"),
    "audit": _l("Audit trail"),
    "conversations": _l("Conversation counts"),
    "evidence": _l("Evidence"),
    "doctor": _l("Repairs"),
    "incident": _l("Incidents"),
    "location": _l("Locations"),
    "mail": _l("E-mail"),
    "privacy": _l("Privacy"),
    "retention": _l("Retention"),
    "settings": _l("Settings"),
    "stats": _l("Statistics"),
    "step": _l("Aftercare steps"),
    "team": _l("Teams"),
    "user": _l("Accounts"),
    "scim": _l("Provisioning (SCIM)"),
    "import": _l("Organisation import"),
}

# What an entry is about, by its stored object type (the model's class name in lower case).
OBJECT_LABELS: dict[str, LazyText] = {
    "incident": _l("Incident"),
    "aftercarestep": _l("Aftercare step"),
    "user": _l("Account"),
    "team": _l("Team"),
    "location": _l("Location"),
    "notification": _l("E-mail"),
    "scimtoken": _l("Provisioning (SCIM) token"),
    "orgimport": _l("Organisation import"),
    "retentionrun": _l("Retention run"),
    "attachment": _l("File"),
    "alarmevent": _l("Alarm"),
    "measure": _l("Measure against a perpetrator"),
    "correctiveaction": _l("Corrective action"),
    "orgmeasure": _l("Organisational measure"),
}

# Detail keys, as "label: value".
DETAIL_LABELS: dict[str, LazyText] = {
    "channels": _l("Channels"),
    "ended_on": _l("Ended on"),
    "locations": _l("Locations"),
    "months": _l("Months compared"),
    "taken_on": _l("Date it came in"),
    "teams": _l("Teams"),
    "title": _l("Name"),
    "account_exists": _l("Account exists"),
    "anonymised": _l("Incidents anonymised"),
    "accepted": _l("Lines accepted"),
    "attachment": _l("File"),
    "by": _l("By"),
    "change": _l("Change"),
    "changes": _l("Changes"),
    "chosen": _l("Chosen for the police"),
    "closed": _l("Aftercare closed"),
    "code": _l("Code"),
    "created": _l("Account created"),
    "deleted": _l("Deleted"),
    "digest": _l("File fingerprint"),
    "done_on": _l("Done on"),
    "due_on": _l("Deadline"),
    "on_time": _l("By the deadline"),
    "result": _l("Whether it worked"),
    "step": _l("Aftercare step"),
    "event": _l("Alarm event"),
    "fields": _l("Fields"),
    "files": _l("Files"),
    "files_removed": _l("Files removed"),
    "first": _l("First single sign-on"),
    "format": _l("Format"),
    "front_office": _l("Front office (lookup at the counter)"),
    "held": _l("Kept for a legal hold"),
    "import_id": _l("Organisation import"),
    "incident": _l("Incident"),
    "keep": _l("Keep originals"),
    "keys": _l("Figures recounted"),
    "kind": _l("Kind of e-mail"),
    "language": _l("Language"),
    "left": _l("Recovery codes left"),
    "level": _l("Level"),
    "lines": _l("Lines"),
    "manifest_sha256": _l("Fingerprint of the list of files"),
    "matches": _l("Measures shown"),
    "measures": _l("Measures"),
    "measures_anonymised": _l("Measures anonymised"),
    "measures_ended": _l("Measures ended on their end date"),
    "measures_expired": _l("Measures ended"),
    "measures_reminded": _l("Reminders that a measure ends soon"),
    "measures_started": _l("Measures that came into force"),
    "second": _l("Second approval"),
    "security_officer": _l("Security officer"),
    "works_council": _l("Works council"),
    "ends_on": _l("End date"),
    "starts_on": _l("Start date"),
    "month": _l("Month"),
    "name": _l("Name"),
    "operation": _l("Operation"),
    "outcomes": _l("Outcome"),
    "owner": _l("Owner"),
    "previous": _l("Before"),
    "purpose": _l("For"),
    "reason": _l("Reason"),
    "refused": _l("Lines refused"),
    "replaced": _l("Replaced an earlier address"),
    "role": _l("Role"),
    "rows": _l("Rows"),
    "seconds": _l("Seconds"),
    "sessions": _l("Sessions"),
    "sha256": _l("File fingerprint"),
    "size": _l("Size in bytes"),
    "source": _l("Source"),
    "steps_handed_over": _l("Steps handed over"),
    "team": _l("Team"),
    "token": _l("Provisioning (SCIM) token"),
    "view": _l("View"),
    "welcome": _l("Welcome mail"),
    "years": _l("Years"),
    "zip_sha256": _l("Fingerprint of the bundle"),
    # The audit trail's own export: which filters were used.
    "who": _l("Who"),
    "actions": _l("What"),
    "object_type": _l("Object type"),
    "object_id": _l("Object id"),
    "since": _l("From"),
    "until": _l("To"),
}

# Values of detail keys that hold a code.
VIEW_LABELS = {"full": _l("the whole incident"), "witness": _l("a witness's part")}
SOURCE_LABELS = {
    AccountSource.ADMIN.value: _l("an administrator"),
    AccountSource.SCIM.value: _l("provisioning (SCIM)"),
    AccountSource.IMPORT.value: _l("the organisation import"),
    AccountSource.OIDC.value: _l("single sign-on"),
}
DETAIL_VALUE_LABELS: dict[str, Mapping[Any, LazyText]] = {
    "view": VIEW_LABELS,
    "source": {**SOURCE_LABELS, "csv": _l("a CSV file"), "form": _l("the form")},
    "by": {"self": _l("the person themselves"), "admin": _l("an administrator")},
    "change": {"added": _l("became"), "removed": _l("no longer")},
    "operation": {
        "create": _l("created"),
        "change": _l("changed"),
        "delete": _l("removed"),
    },
    "purpose": {"login": _l("logging in"), "off_code": _l("switching two-factor sign-in off")},
    "format": {"html": _l("page"), "json": _l("JSON file"), "zip": _l("ZIP file")},
    "reason": {
        "unknown_user": _l("no account with this address"),
        "inactive_user": _l("the account is deactivated"),
        "deactivated": _l("the account is deactivated"),
    },
    "role": {
        **{role.value: label for role, label in ROLE_LABELS.items()},
        "manager": _l("Manager"),
        "deputy": _l("Deputy"),
    },
    "outcomes": {outcome.value: label for outcome, label in OUTCOME_LABELS.items()},
    "result": {
        "worked": _l("it worked"),
        "partly": _l("it worked in part"),
        "did_not_work": _l("it did not work"),
    },
}

# Field names in "fields" (of an incident, an account, a team or a location).
CHANGED_FIELD_LABELS: dict[str, LazyText] = {
    **FIELD_LABELS,
    **ACCOUNT_FIELD_LABELS,
    "active": _l("active"),
    "parent_id": _l("part of"),
    "manager_id": _l("manager"),
    "deputy_id": _l("deputy"),
    "name_nl": _l("Dutch name"),
    "name_en": _l("English name"),
    "code": _l("code"),
    "channel": _l("where or how"),
    "owner": _l("owner"),
    "due_on": _l("deadline"),
}

NOTHING = "\u2013"  # an en dash: no value

# Detail keys holding the id of a person, a team or an incident: shown by name or number.
PERSON_KEYS = frozenset({"owner", "previous"})
PERSON_KEY_ACTIONS = frozenset(
    {
        AuditAction.STEP_HAND,
        AuditAction.STEP_OWNER,
        AuditAction.SETTINGS_COORDINATOR,
        AuditAction.ACTION_CREATE,
        AuditAction.ACTION_CHANGE,
    }
)
TEAM_KEYS = frozenset({"team"})
INCIDENT_KEYS = frozenset({"incident"})


@dataclass
class Lookups:
    """Names and numbers for a page of entries, fetched in a few queries for the whole page."""

    people: dict[int, str] = field(default_factory=dict)  # user id -> name
    teams: dict[int, str] = field(default_factory=dict)  # team id -> name
    incident_numbers: dict[int, str | None] = field(default_factory=dict)  # None: a draft
    step_incidents: dict[int, int] = field(default_factory=dict)  # step id -> incident id


@dataclass(frozen=True)
class Described:
    """An entry in words."""

    what: str
    about: str
    details: list[str]


def action_label(action: str) -> str:
    """The action in words; an action this version does not know, as recorded."""
    try:
        return str(ACTION_LABELS[AuditAction(action)])
    except (ValueError, KeyError):
        return action


def object_label(object_type: str) -> str:
    """The kind of object in words; an unknown kind as recorded."""
    label = OBJECT_LABELS.get(object_type)
    return str(label) if label is not None else object_type


def incident_ref(incident_id: int, lookups: Lookups) -> str:
    """An incident by its readable number; a draft (no number yet) by its id."""
    if incident_id not in lookups.incident_numbers:  # a discarded draft, gone: by its id
        return _("id %(id)s", id=incident_id)
    number = lookups.incident_numbers[incident_id]
    return number if number else _("draft, id %(id)s", id=incident_id)


def about_text(object_type: str, object_id: int | None, lookups: Lookups) -> str:
    """What the entry is about: the kind of object and which one, by name or number."""
    if not object_type:
        return ""
    kind = object_label(object_type)
    if object_id is None:
        return kind
    if object_type == "incident":
        return _("Incident %(number)s", number=incident_ref(object_id, lookups))
    if object_type == "aftercarestep" and object_id in lookups.step_incidents:
        return _(
            "Aftercare step %(id)s of incident %(number)s",
            id=object_id,
            number=incident_ref(lookups.step_incidents[object_id], lookups),
        )
    name = None
    if object_type == "user":
        name = lookups.people.get(object_id)
    elif object_type == "team":
        name = lookups.teams.get(object_id)
    if name:
        return _("%(kind)s: %(name)s", kind=kind, name=name)
    return _("%(kind)s %(id)s", kind=kind, id=object_id)


def _value_text(action: str, key: str, value: Any, lookups: Lookups) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if value is None:
        return _("nobody") if key in PERSON_KEYS else NOTHING
    if isinstance(value, list | tuple):
        if key == "fields":
            return ", ".join(str(CHANGED_FIELD_LABELS.get(str(v), v)) for v in value)
        return ", ".join(_value_text(action, key, v, lookups) for v in value)
    if isinstance(value, int) and key in PERSON_KEYS and action in PERSON_KEY_ACTIONS:
        return lookups.people.get(value) or _("account %(id)s", id=value)
    if isinstance(value, int) and key in TEAM_KEYS:
        return lookups.teams.get(value) or _("team %(id)s", id=value)
    if isinstance(value, int) and key in INCIDENT_KEYS:
        return incident_ref(value, lookups)
    if key == "actions" and isinstance(value, str):  # an action or a group ("auth.*")
        group = value.removesuffix(".*")
        if group != value and group in ACTION_GROUP_LABELS:
            return _("%(group)s: everything", group=str(ACTION_GROUP_LABELS[group]))
        return action_label(value)
    if key == "object_type" and isinstance(value, str):
        return object_label(value)
    labels = DETAIL_VALUE_LABELS.get(key, {})
    label = labels.get(value) if isinstance(value, str) else None
    return str(label) if label is not None else str(value)


def details_text(action: str, details: Mapping[str, Any] | None, lookups: Lookups) -> list[str]:
    """The details as "label: value" lines, in a fixed order (sorted by key)."""
    lines = []
    for key, value in sorted((details or {}).items()):
        label = DETAIL_LABELS.get(key)
        lines.append(
            _(
                "%(label)s: %(value)s",
                label=str(label) if label is not None else key,
                value=_value_text(action, key, value, lookups),
            )
        )
    return lines


def _variant(action: str, details: Mapping[str, Any]) -> tuple[str, str] | None:
    """A precise wording and the detail it uses up, if one applies."""
    for (known, key, value), label in ACTION_VARIANTS.items():
        found = details.get(key)
        # The same type too: True is not 1.
        if known == action and found == value and type(found) is type(value):
            return str(label), key
    return None


def describe(
    action: str,
    object_type: str,
    object_id: int | None,
    details: Mapping[str, Any] | None,
    lookups: Lookups,
) -> Described:
    """An entry in words: what was done, on what, and the details."""
    details = dict(details or {})
    variant = _variant(action, details)
    if variant is not None:
        what, used = variant
        details.pop(used)
    else:
        what = action_label(action)
    return Described(
        what=what,
        about=about_text(object_type, object_id, lookups),
        details=details_text(action, details, lookups),
    )


def action_choices(
    sort_key: Callable[[str], Any] = str.casefold,
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The action filter's choices, grouped: each group's "all of them" first, then its
    actions in words, in alphabetical order of the words."""
    groups: dict[str, list[AuditAction]] = {}
    for action in AuditAction:
        groups.setdefault(action.value.split(".", 1)[0], []).append(action)
    choices: list[tuple[str, list[tuple[str, str]]]] = []
    for group in sorted(groups, key=lambda g: sort_key(str(ACTION_GROUP_LABELS.get(g, g)))):
        label = str(ACTION_GROUP_LABELS.get(group, group))
        options = [(f"{group}.*", _("%(group)s: everything", group=label))]
        options += sorted(
            ((a.value, action_label(a.value)) for a in groups[group]),
            key=lambda choice: sort_key(choice[1]),
        )
        choices.append((label, options))
    return choices


def object_choices() -> list[tuple[str, str]]:
    """The object-type filter's choices, in words, alphabetically."""
    return sorted(
        ((kind, str(label)) for kind, label in OBJECT_LABELS.items()),
        key=lambda choice: choice[1].casefold(),
    )
