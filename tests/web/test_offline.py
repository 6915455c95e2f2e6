"""The installable web app and offline reporting, through the test client: the manifest and the
service worker (public, with the right types and headers), the offline shells (a login, and
nothing personal in them), the CSRF token for sending what a device kept, and the logout that
deletes it all. What the browser does with them is in tests/e2e/test_offline.py."""

from __future__ import annotations

import json
import re

from incidents.models import Role
from tests.conftest import ROOT

SHELLS = ("/incidents/offline/report", "/incidents/offline/quick")
LOGIN = re.compile(r"^/login\?next=")


def test_the_manifest_is_public_and_names_the_app_and_its_icons(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.text)
    assert manifest["name"] == "Agressie-incidenten"  # no cookie: the default language
    assert manifest["lang"] == "nl" and manifest["short_name"]
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    sizes = {icon["sizes"]: icon for icon in manifest["icons"]}
    assert {"any", "192x192", "512x512"} <= set(sizes)
    for icon in manifest["icons"]:
        served = client.get(icon["src"])
        served.close()  # a file sent as it is: close it
        assert served.status_code == 200 and served.mimetype == icon["type"], icon
    with client.get(sizes["512x512"]["src"]) as served:
        png = served.data
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(png[16:20], "big") == 512 == int.from_bytes(png[20:24], "big")


def test_the_theme_colours_are_the_stylesheets(client):
    manifest = json.loads(client.get("/manifest.webmanifest").text)
    css = (ROOT / "incidents" / "static" / "css" / "app.css").read_text()
    assert f"--brand: {manifest['theme_color']};" in css
    assert f"--wash: {manifest['background_color']};" in css


def test_the_service_worker_is_public_javascript_at_the_root(client):
    with client.get("/sw.js") as response:
        source = response.text
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert response.headers["Cache-Control"] == "no-cache"
    assert "Service-Worker-Allowed" not in response.headers  # at the root, its scope is all
    assert 'addEventListener("fetch"' in source
    etag = response.headers["ETag"]
    with client.get("/sw.js", headers={"If-None-Match": etag}) as again:
        assert again.status_code == 304


def test_the_policy_allows_the_manifest_and_the_worker_from_the_app_only(client):
    policy = client.get("/login").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["manifest-src"] == "'self'"
    assert directives["worker-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    with client.get("/sw.js") as worker:
        assert worker.headers["Content-Security-Policy"] == policy


def test_every_page_links_the_manifest_and_loads_the_offline_scripts(client):
    page = client.get("/login").text
    assert '<link rel="manifest" href="/manifest.webmanifest"' in page
    assert "js/outbox.js" in page and "js/offline.js" in page
    assert "data-user" not in page  # nobody is signed in


def test_the_shells_and_the_token_need_a_login(client):
    for url in (*SHELLS, "/incidents/offline/token"):
        response = client.get(url)
        assert response.status_code == 302 and LOGIN.match(response.headers["Location"]), url


def test_the_shells_hold_nothing_personal(client, make_user):
    from tests.conftest import login

    user = make_user(Role.MANAGER, name="Mirjam Vertrouwelijk", email="mirjam@example.test")
    login(client, user)
    signed_in = client.get("/incidents/new", follow_redirects=True).text
    assert "Mirjam Vertrouwelijk" in signed_in and 'name="csrf_token"' in signed_in
    assert f'data-user="{user.id}"' in signed_in
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Mirjam Vertrouwelijk was here")]
    for url in SHELLS:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Content-Language"] == "nl"
        assert response.headers["Cache-Control"] == "no-store"  # kept by the worker only
        page = response.text
        assert "Mirjam" not in page and "mirjam" not in page, url
        assert "csrf_token" not in page, url
        assert "data-user" not in page, url
        assert 'class="badge"' not in page and "main-nav" not in page, url
        assert "data-shell" in page and "data-offline" in page, url
        # No submission token of its own, nor in its links: the browser makes one per report.
        assert re.search(r'name="submission_token"[^>]*value="[^"]', page) is None, url
        assert "?t=" not in page and "&amp;t=" not in page, url
    with client.session_transaction() as session:
        assert session["_flashes"], "a shell must not take the flashed messages"


def test_the_shell_is_in_the_users_language(client, make_user):
    from tests.conftest import login

    login(client, make_user(Role.EMPLOYEE, locale="en"))
    response = client.get("/incidents/offline/report")
    assert response.headers["Content-Language"] == "en"
    assert '<html lang="en">' in response.text


def test_the_token_is_a_csrf_token_of_this_session_and_never_kept(client, make_user):
    from tests.conftest import login

    user = make_user(Role.EMPLOYEE)
    login(client, user)
    response = client.get("/incidents/offline/token")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["user"] == str(user.id)
    # The token works for a form of this session: a quick log posted with it is stored.
    posted = client.post(
        "/incidents/quick",
        data={
            "csrf_token": body["csrf_token"],
            "submission_token": "t" * 32,
            "type": "verbal",
            "channel": "counter",
            "kept_at": "2024-05-01T10:00:00.000Z",  # sent by offline.js; ignored for now
        },
        csrf=False,
    )
    assert posted.status_code == 302
    assert re.match(r"^/incidents/\d+$", posted.headers["Location"])


def test_a_report_posted_twice_with_its_token_is_stored_once(client, make_user):
    """What a device does when the answer to its first post was lost: the same token again."""
    from sqlalchemy import func, select

    from incidents.extensions import db
    from incidents.models import Incident
    from tests.conftest import login

    login(client, make_user(Role.EMPLOYEE))
    data = {"submission_token": "k" * 40, "type": "intimidation", "channel": "phone"}
    first = client.post("/incidents/quick", data=data)
    second = client.post("/incidents/quick", data=data)
    assert first.headers["Location"] == second.headers["Location"]
    count = db.session.scalar(
        select(func.count()).select_from(Incident).where(Incident.submission_token == "k" * 40)
    )
    assert count == 1


def test_logout_deletes_what_the_browser_kept(client, make_user):
    from tests.conftest import login

    login(client, make_user(Role.EMPLOYEE))
    response = client.post("/logout")
    assert response.status_code == 302
    assert response.headers["Clear-Site-Data"] == '"storage"'
    assert "Clear-Site-Data" not in client.get("/login").headers
