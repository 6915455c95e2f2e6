"""The only code that changes data. Each public function is one transaction and writes its
audit event in it: it commits on success and rolls back on any error.

One module per concept; everything is importable from here (`services.create_user`, ...).
"""

from incidents.services import (
    aftercare,
    corrections,
    evidence,
    help_contacts,
    ownership,
    password_reset,
    victim_view,
)
from incidents.services.accounts import (
    create_team,
    create_user,
    normalise_email,
    rehash_password,
    set_active,
    set_locale,
    set_password,
    set_team_active,
    update_team,
    update_user,
    user_by_email,
)
from incidents.services.base import InvalidInput, ServiceError, audit, transaction
from incidents.services.reporting import (
    ReportData,
    amend_report,
    complete_draft,
    discard_draft,
    incident_by_token,
    quick_log,
    save_report,
)

__all__ = [
    "InvalidInput",
    "ReportData",
    "ServiceError",
    "aftercare",
    "amend_report",
    "audit",
    "complete_draft",
    "corrections",
    "create_team",
    "create_user",
    "discard_draft",
    "evidence",
    "help_contacts",
    "incident_by_token",
    "normalise_email",
    "ownership",
    "password_reset",
    "quick_log",
    "rehash_password",
    "save_report",
    "set_active",
    "set_locale",
    "set_password",
    "set_team_active",
    "transaction",
    "update_team",
    "update_user",
    "user_by_email",
    "victim_view",
]
