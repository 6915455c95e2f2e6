"""HR: anonymised statistics, the yearly council report, and client conversation counts."""

from flask import Blueprint

bp = Blueprint("hr", __name__, url_prefix="/hr")

from incidents.hr import conversations, views  # noqa: E402, F401
