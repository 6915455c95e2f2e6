"""The home page, the health endpoints, and the web app's manifest and service worker."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from incidents.main import help, views, webapp  # noqa: E402, F401
