"""Corrective actions: adding them from a team evaluation, the action's page (change, close,
review, cancel), the owner's list, a team's list, and the works council's overview."""

from flask import Blueprint

bp = Blueprint("actions", __name__, url_prefix="/actions")

from incidents.actions import views  # noqa: E402, F401
