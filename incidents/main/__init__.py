"""The home page and the health endpoints."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from incidents.main import views  # noqa: E402, F401
