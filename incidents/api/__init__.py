"""Machine-to-machine endpoints under /api: the alarm provider's webhook.

No session and no form token: each request is signed (HMAC-SHA256 with a shared secret), and
its view checks the signature before anything else. Answers are JSON in English.
"""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from incidents.api import views  # noqa: E402, F401
