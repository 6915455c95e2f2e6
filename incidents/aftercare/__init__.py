"""The manager's aftercare inbox and the steps of the protocol."""

from flask import Blueprint

bp = Blueprint("aftercare", __name__, url_prefix="/aftercare")

from incidents.aftercare import calendar, views  # noqa: E402, F401
