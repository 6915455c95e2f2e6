"""Administration: users, teams, managers and deputies."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from incidents.admin import (  # noqa: E402, F401
    alarms,
    audit,
    legal_holds,
    mail,
    org_import,
    ownership,
    privacy,
    scim,
    views,
)
