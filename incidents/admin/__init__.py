"""Administration: users, teams, managers and deputies, locations and their posters."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from incidents.admin import (  # noqa: E402, F401
    alarms,
    audit,
    evidence,
    help_contacts,
    legal_holds,
    locations,
    mail,
    measure_letter,
    org_import,
    ownership,
    privacy,
    scim,
    views,
)
