"""Administration: users, teams, managers and deputies."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from incidents.admin import audit, legal_holds, mail, ownership, privacy, views  # noqa: E402, F401
