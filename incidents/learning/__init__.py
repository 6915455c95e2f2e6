"""Learning from incidents: the organisational measures taken, and whether they changed
anything (their before/after comparison with the rest of the organisation)."""

from flask import Blueprint

bp = Blueprint("learning", __name__, url_prefix="/learning")

from incidents.learning import views  # noqa: E402, F401
