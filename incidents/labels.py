"""What users read for the closed sets in the code: roles, channels, types, facts, fields."""

from __future__ import annotations

import functools

from flask import current_app
from flask_babel import force_locale

from incidents.extensions import current_protocol
from incidents.i18n import lazy_gettext as _l
from incidents.models import AuditAction, Channel, IncidentType, PersonRole, Role
from incidents.rules import Assessment, Outcome, Subject

# Who did something, as the access export writes it (its keys) and "My data" shows it.
YOU = "you"
SYSTEM = "system"

ROLE_LABELS = {
    Role.EMPLOYEE: _l("Employee"),
    Role.MANAGER: _l("Manager"),
    Role.HR: _l("HR"),
    Role.ADMIN: _l("Administrator"),
}

CHANNEL_LABELS = {
    Channel.COUNTER: _l("Counter"),
    Channel.INTERVIEW_ROOM: _l("Interview room"),
    Channel.HOME_VISIT: _l("Home visit"),
    Channel.PHONE: _l("Phone"),
    Channel.LETTER_EMAIL: _l("Letter or e-mail"),
    Channel.SOCIAL_MEDIA: _l("Social media"),
    Channel.PUBLIC_SPACE: _l("Public space"),
    Channel.OTHER: _l("Other"),
}

TYPE_LABELS = {
    IncidentType.VERBAL: _l("Verbal aggression"),
    IncidentType.INTIMIDATION: _l("Non-verbal intimidation"),
    IncidentType.THREAT: _l("Threat"),
    IncidentType.DISCRIMINATION: _l("Discrimination"),
    IncidentType.SEXUAL: _l("Sexual intimidation"),
    IncidentType.PHYSICAL: _l("Physical violence"),
    IncidentType.DAMAGE: _l("Damage to property"),
    IncidentType.ONLINE: _l("Online or written aggression"),
}

# Aggravating facts: model field -> label.
AGGRAVATING_LABELS = {
    "weapon": _l("A weapon was involved"),
    "threat_home": _l("The threat was aimed at home or family"),
    "injury": _l("Someone was injured"),
    "absence": _l("Someone is absent from work because of it"),
    "hospital": _l("Someone was admitted to hospital"),
}

PERSON_ROLE_LABELS = {
    PersonRole.AFFECTED: _l("Affected"),
    PersonRole.WITNESS: _l("Witness"),
}

# Names of recorded fields, as the history shows them.
FIELD_LABELS = {
    "occurred_at": _l("When"),
    "channel": _l("Where or how"),
    "location": _l("Location"),
    "description": _l("Description"),
    "types": _l("Type"),
    "affected": _l("Affected colleagues"),
    "witnesses": _l("Colleague witnesses"),
    "outside_witnesses": _l("Other witnesses"),
    "perpetrator_known": _l("Perpetrator known"),
    "perpetrator_name": _l("Perpetrator's name"),
    "perpetrator_reference": _l("Client reference"),
    "police_called": _l("Police called"),
    "police_report_wanted": _l("Police report wanted"),
    "damage": _l("Damage"),
    **AGGRAVATING_LABELS,
}

# Names of what a step records, as a correction lists what it changed.
STEP_FIELD_LABELS = {
    "outcomes": _l("Outcome"),
    "held_on": _l("Date"),
    "reference": _l("Reference or report number"),
    "end_date": _l("End date of the measure"),
    "citizen_heard": _l("The citizen was heard before the decision"),
    "reason": _l("Reason"),
    "note": _l("Short note"),
}

HISTORY_ACTIONS = {
    "step_corrected": _l("corrected an aftercare step"),
    "police_reference": _l("added or changed the police report number"),
    "draft": _l("saved a draft"),
    "submitted": _l("submitted the report"),
    "updated": _l("added information"),
    "evidence_added": _l("added files"),
    "evidence_removed": _l("removed a file"),
    "evidence_handed": _l("handed evidence to the police"),
}

# The right of access (`incidents.privacy.access_export`) as the "My data" page names it.
# Audit actions; an unknown action is shown as recorded.
AUDIT_ACTION_LABELS = {
    AuditAction.PRIVACY_ACCESS_EXPORT: _l("downloaded or viewed this overview"),
    AuditAction.INCIDENT_VIEW: _l("viewed the incident"),
    AuditAction.INCIDENT_VIEW_EDIT: _l("opened the incident to add information"),
    AuditAction.STEP_VIEW: _l("viewed an aftercare step"),
    AuditAction.AUTH_LOGIN: _l("logged in"),
    AuditAction.AUTH_LOGOUT: _l("logged out"),
    AuditAction.AUTH_LOGIN_FAILED: _l("a failed login attempt"),
    AuditAction.INCIDENT_DRAFT: HISTORY_ACTIONS["draft"],
    AuditAction.INCIDENT_SUBMIT: HISTORY_ACTIONS["submitted"],
    AuditAction.INCIDENT_UPDATE: HISTORY_ACTIONS["updated"],
    AuditAction.INCIDENT_LEVEL: _l("changed the level"),
    AuditAction.EVIDENCE_ADD: _l("added a file"),
    AuditAction.EVIDENCE_DOWNLOAD: _l("opened a file"),
    AuditAction.EVIDENCE_ORIGINAL: _l("downloaded the original of a file"),
    AuditAction.EVIDENCE_REMOVE: HISTORY_ACTIONS["evidence_removed"],
    AuditAction.EVIDENCE_POLICE: _l("chose a file for the police, or took it back"),
    AuditAction.EVIDENCE_BUNDLE: _l("downloaded the police bundle"),
    AuditAction.STEP_COMPLETE: _l("recorded an aftercare step"),
    AuditAction.STEP_CORRECT: HISTORY_ACTIONS["step_corrected"],
    AuditAction.STEP_POLICE_REFERENCE: HISTORY_ACTIONS["police_reference"],
    AuditAction.STEP_ATTEMPT: _l("recorded an attempt to reach you"),
    AuditAction.STEP_HAND: _l("handed an aftercare step to another manager"),
    AuditAction.USER_CREATE: _l("created the account"),
    AuditAction.USER_UPDATE: _l("changed the account"),
    AuditAction.USER_PASSWORD: _l("changed the password"),
    AuditAction.USER_ACTIVATE: _l("activated the account"),
    AuditAction.USER_DEACTIVATE: _l("deactivated the account"),
    AuditAction.USER_CALENDAR_RENEW: _l("renewed the calendar address"),
    AuditAction.USER_ABSENT: _l("reported absence"),
    AuditAction.USER_PRESENT: _l("reported being back"),
    AuditAction.USER_TEAM_ROLE: _l("changed whom a team has as manager or deputy"),
    AuditAction.USER_PASSWORD_LINK: _l("sent you a link to set your password"),
    AuditAction.USER_PASSWORD_SET: _l("set the password through a link"),
    AuditAction.AUTH_SESSION_END: _l("ended a session"),
    AuditAction.AUTH_OIDC_LOGIN: _l("logged in with single sign-on"),
    AuditAction.AUTH_OIDC_REFUSED: _l("a refused single sign-on"),
    AuditAction.AUTH_TWO_FACTOR: _l("logged in with a code"),
    AuditAction.AUTH_TWO_FACTOR_FAILED: _l("a wrong code"),
    AuditAction.AUTH_RECOVERY_CODE: _l("used a recovery code"),
    AuditAction.USER_TWO_FACTOR_ON: _l("switched two-factor sign-in on"),
    AuditAction.USER_TWO_FACTOR_OFF: _l("switched two-factor sign-in off"),
    AuditAction.USER_RECOVERY_CODES: _l("made new recovery codes"),
}

# What an administrator changed on the account (shown beside the action).
ACCOUNT_FIELD_LABELS = {
    "email": _l("e-mail address"),
    "name": _l("name"),
    "role": _l("role"),
    "team_id": _l("team"),
    "break_glass": _l("break-glass account"),
    "oidc_subject": _l("single sign-on binding"),
    "external_id": _l("directory id"),
    "employee_number": _l("employee number"),
    "front_office": _l("front office (lookup at the counter)"),
    "security_officer": _l("security officer"),
    "works_council": _l("works council"),
}

# A change of whom a team has as manager or deputy: (team role, change) -> what it means to you.
TEAM_ROLE_CHANGE_LABELS = {
    ("manager", "added"): _l("you became manager of %(team)s"),
    ("manager", "removed"): _l("you are no longer manager of %(team)s"),
    ("deputy", "added"): _l("you became deputy of %(team)s"),
    ("deputy", "removed"): _l("you are no longer deputy of %(team)s"),
}

# Who acted: you, the system, or someone else by their role only.
ACTOR_LABELS = {
    YOU: _l("You"),
    SYSTEM: _l("The system"),
    **{role.value: label for role, label in ROLE_LABELS.items()},
}

# What an audit entry is about.
AUDIT_OBJECT_LABELS = {
    "incident": _l("Incident"),
    "aftercare_step": _l("Aftercare step"),
    "account": _l("Your account"),
}

# Your part in an incident.
YOUR_ROLE_LABELS = {
    "reporter": _l("Reporter"),
    **{role.value: label for role, label in PERSON_ROLE_LABELS.items()},
}

OUTCOME_LABELS = {
    Outcome.HELD: _l("Held"),
    Outcome.DECLINED: _l("Declined by the employee"),
    Outcome.NOT_REACHED: _l("Not reached yet"),
    Outcome.VICTIM_SUPPORT: _l("Victim support (Slachtofferhulp)"),
    Outcome.SOCIAL_WORK: _l("Company social work"),
    Outcome.OCCUPATIONAL_PHYSICIAN: _l("Occupational physician"),
    Outcome.GP: _l("GP"),
    Outcome.NONE_NEEDED: _l("No referral needed"),
    Outcome.FILED_BY_EMPLOYER: _l("Filed by the employer (employer's address)"),
    Outcome.FILED_BY_EMPLOYEE: _l("Filed by the employee"),
    Outcome.NOT_FILED: _l("Not filed"),
    Outcome.WARNING_LETTER: _l("Warning letter"),
    Outcome.CONVERSATION: _l("Conversation"),
    Outcome.BUILDING_BAN: _l("Building ban"),
    Outcome.NONE: _l("No response"),
    Outcome.REPORTED: _l("Reported"),
    Outcome.NOT_REQUIRED: _l("Not required"),
}

STEP_STATUS_LABELS = {
    "open": _l("Open"),
    "done": _l("Done"),
    "not_required": _l("No longer required"),
}

SUBJECT_LABELS = {
    Subject.VICTIM: _l("Affected employee"),
    Subject.WITNESS: _l("Witness"),
    Subject.INCIDENT: _l("The incident"),
}


def step_labels() -> dict[str, object]:
    """Everything the step lists show, including each step's title from the protocol."""

    return {  # translated here, once, rather than once a row of a list
        "outcomes": {key: str(label) for key, label in OUTCOME_LABELS.items()},
        "statuses": {key: str(label) for key, label in STEP_STATUS_LABELS.items()},
        "subjects": {key: str(label) for key, label in SUBJECT_LABELS.items()},
        "titles": {d.id: {"nl": d.title_nl, "en": d.title_en} for d in current_protocol().steps},
    }


# The organisation's contacts on the help page (services.help_contacts.ContactKind values).
HELP_CONTACT_LABELS = {
    "confidential_adviser": _l("Confidential adviser"),
    "social_work": _l("Company social work"),
    "victim_support": _l("Victim support"),
    "police": _l("Police (no emergency)"),
}


@functools.lru_cache(maxsize=8)
def condition_names(language: str) -> dict[str, str]:
    """The words of `language` for what a severity rule looks at: each incident type and
    aggravating fact by its protocol name, as the report form and incident page show them.
    The same for every report, so made once a language (the caller does not change it)."""
    with force_locale(language):
        names = {member.value: str(label) for member, label in TYPE_LABELS.items()}
        names.update((name, str(label)) for name, label in AGGRAVATING_LABELS.items())
    return names


def level_reasons(assessment: Assessment) -> dict[str, str]:
    """Why the incident has its level, in each language the app speaks (stored with the
    incident): a rule without its own words is named by its type or fact labels, so "Level 2
    because: damage to property" uses the words of the incident's type."""
    reasons = {}
    for language in current_app.config["LANGUAGES"]:
        names = condition_names(language)
        with force_locale(language):
            reasons[language] = assessment.reason(language, names)
    return reasons
