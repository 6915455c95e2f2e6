"""The register of measures against perpetrators: proposing, approving, the hearing, the
notice letter, ending and extending; and the lookup at the counter."""

from flask import Blueprint

bp = Blueprint("measures", __name__, url_prefix="/measures")

from incidents.measures import lookup, notice, views  # noqa: E402, F401
