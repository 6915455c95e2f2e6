"""Incident reporting for employees: the report form, quick log, drafts, my incidents."""

from flask import Blueprint

bp = Blueprint("reporting", __name__, url_prefix="/incidents")

from incidents.reporting import evidence, offline, police, views  # noqa: E402, F401
