"""Typed SQLAlchemy 2 models, one module per part of the domain; import them from here."""

from incidents.models.aftercare import AftercareStep, StepStatus
from incidents.models.base import Model, UTCDateTime, utcnow
from incidents.models.incident import (
    Channel,
    Incident,
    IncidentChange,
    IncidentPerson,
    IncidentStatus,
    IncidentType,
    IncidentTypeRow,
    PerpetratorKnown,
    PersonRole,
)
from incidents.models.people import (
    AccountSource,
    LoginThrottle,
    PasswordReset,
    Role,
    Team,
    TeamMembership,
    User,
    UserSession,
)
from incidents.models.records import (
    AuditAction,
    AuditEvent,
    Notification,
    OrgImport,
    RecoveryCode,
    RetentionRun,
    ScimToken,
    Setting,
)
from incidents.models.statistics import (
    ConversationCount,
    StatPublication,
    StatPublished,
    StatTally,
)

__all__ = [
    "AccountSource",
    "AftercareStep",
    "AuditAction",
    "AuditEvent",
    "Channel",
    "ConversationCount",
    "Incident",
    "IncidentChange",
    "IncidentPerson",
    "IncidentStatus",
    "IncidentType",
    "IncidentTypeRow",
    "LoginThrottle",
    "Model",
    "Notification",
    "OrgImport",
    "PasswordReset",
    "PerpetratorKnown",
    "PersonRole",
    "RecoveryCode",
    "RetentionRun",
    "Role",
    "ScimToken",
    "Setting",
    "StatPublication",
    "StatPublished",
    "StatTally",
    "StepStatus",
    "Team",
    "TeamMembership",
    "UTCDateTime",
    "User",
    "UserSession",
    "utcnow",
]
