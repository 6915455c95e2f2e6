"""The installable web app: its manifest and its service worker.

Both are public, like the static files: they hold no personal data and are the same for
everyone. The browser fetches the manifest on its own, and it checks the service worker for
updates on its own too, also when nobody is signed in; a redirect to the login page would
make that check fail and leave an old worker in charge of the pages. What the worker keeps is
decided in static/js/sw.js; the offline shells it keeps need a login
(incidents/reporting/offline.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import current_app, send_from_directory, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from incidents.i18n import select_locale
from incidents.main import bp

# --brand and --wash in static/css/app.css (tests/web/test_offline.py checks they agree).
THEME_COLOUR = "#1d4f73"
BACKGROUND_COLOUR = "#f3f5f8"
ICONS = (
    ("icons/icon.svg", "image/svg+xml", "any"),
    ("icons/icon-192.png", "image/png", "192x192"),
    ("icons/icon-512.png", "image/png", "512x512"),
)
SERVICE_WORKER = "js/sw.js"


@bp.route("/manifest.webmanifest")
def manifest() -> ResponseReturnValue:
    """The web app manifest (in the user's language when the browser sends the cookie)."""
    start = url_for("main.index")
    document = {
        "id": start,
        "name": _("Aggression incidents"),
        "short_name": _("Incidents"),
        "description": _("Report aggression and follow the aftercare."),
        "lang": select_locale(),
        "start_url": start,
        "scope": start,
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [
            {
                "src": url_for("static", filename=path),
                "type": kind,
                "sizes": sizes,
                "purpose": "any",
            }
            for path, kind, sizes in ICONS
        ],
    }
    return current_app.response_class(
        json.dumps(document, ensure_ascii=False), mimetype="application/manifest+json"
    )


@bp.route("/sw.js")
def service_worker() -> ResponseReturnValue:
    """The service worker, at the root so that its scope is the whole app."""
    static = Path(current_app.static_folder or "")
    response = send_from_directory(static, SERVICE_WORKER, mimetype="text/javascript")
    # Checked again on every update check (a 304 while it is unchanged).
    response.headers["Cache-Control"] = "no-cache"
    return response
