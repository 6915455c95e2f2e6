"""Logging in and out, the language switch, and the user's own password."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from incidents.auth import data, oidc, reset, two_factor, views  # noqa: E402, F401
