"""Offline reporting in a real browser: the service worker, the offline shells and the
encrypted outbox, with the network really gone.

`context.set_offline(True)` takes the network from the pages and, in this Playwright, from the
service worker too (Playwright once left workers online: microsoft/playwright#2311). The
tests do not take that on trust: `ServerLog` records every request that reaches the live
server, and while a test is offline it must stay empty. A failing network that the browser
does not notice (online, but nothing gets through) is made with `context.route`, which also
catches the worker's own requests.

Texts shown by static/js/offline.js are matched in Dutch or English: their Dutch translations
wait in .wip/issue-17/offline.json until they are merged into the catalogue.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from incidents.extensions import db
from incidents.models import Incident, User
from incidents.services.demo import seed_demo
from tests.e2e.conftest import DESKTOP, TIMEOUT_MS, Viewport, assert_accessible
from tests.e2e.helpers import fresh, heading, log_in

pytestmark = pytest.mark.e2e

DETAIL_URL = re.compile(r"/incidents/(\d+)$")
DESCRIPTION = "Huisbezoek: de bewoner dreigde met de hond en sloeg de deur dicht."
NOTE = "Uitgescholden bij de voordeur."


def either(dutch: str, english: str) -> re.Pattern[str]:
    return re.compile(f"{re.escape(dutch)}|{re.escape(english)}")


WAITING = either(
    "Wacht op verzending: uw melding wordt op dit apparaat bewaard",
    "Waiting to send: your report is kept on this device",
)
SENT = either(
    "De melding die op dit apparaat wachtte, is verstuurd.",
    "The report that was waiting on this device has been sent.",
)
SIGN_IN = either(
    "Log in om de melding te versturen die op dit apparaat wacht.",
    "Sign in to send the report waiting on this device.",
)
SHELL_NOTICE = either("Geen verbinding", "No connection")


@pytest.fixture
def demo(app: Flask) -> None:
    seed_demo()


# --- Helpers ---------------------------------------------------------------------------------


class ServerLog:
    """Every request that reaches the live server (method and path), recorded in the app's
    WSGI entry, so a test can prove that nothing went over the network while it was offline."""

    def __init__(self, app: Flask) -> None:
        self.requests: list[str] = []
        self._lock = threading.Lock()
        inner = app.wsgi_app

        def recording(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            with self._lock:
                self.requests.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
            return inner(environ, start_response)

        self.wsgi = recording

    @contextmanager
    def none_expected(self) -> Iterator[None]:
        """Nothing may reach the server inside the block."""
        with self._lock:
            start = len(self.requests)
        yield
        with self._lock:
            reached = self.requests[start:]
        assert not reached, f"requests reached the server while offline: {reached}"


@pytest.fixture
def server_log(app: Flask, monkeypatch: pytest.MonkeyPatch) -> ServerLog:
    log = ServerLog(app)
    monkeypatch.setattr(app, "wsgi_app", log.wsgi)
    return log


@contextmanager
def own_context(
    browser: Any, base_url: str, viewport: Viewport = DESKTOP, *, allowed: str | None = None
) -> Iterator[Any]:
    """A browser context of its own (for flows with several users or a failing network),
    set up like the `page` fixture's; fails on JavaScript or console errors except those
    matching `allowed` (a request the test itself made fail)."""
    context = browser.new_context(
        base_url=base_url,
        locale="nl-NL",
        timezone_id="Europe/Amsterdam",
        **viewport.context_options(),
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    errors: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error" and not (allowed and re.search(allowed, message.text)):
            errors.append(f"console {message.type}: {message.text}")

    context.on("console", on_console)
    context.on("weberror", lambda error: errors.append(f"page error: {error.error}"))
    try:
        yield context
    finally:
        context.close()
    assert not errors, "the browser reported errors:\n" + "\n".join(errors)


def wait_until_offline_ready(page: Any) -> None:
    """The service worker runs and keeps both shells: the forms now open without a network."""
    page.wait_for_selector("html[data-offline-ready]", state="attached")


def outbox_status(page: Any) -> Any:
    return page.locator("[data-outbox]")


OUTBOX_DUMP = """async () => {
  const known = await indexedDB.databases();
  if (!known.some((d) => d.name === "incidents-offline")) { return null; }
  const db = await new Promise((ok, fail) => {
    const r = indexedDB.open("incidents-offline"); r.onsuccess = () => ok(r.result); r.onerror = fail;
  });
  const all = (store) => new Promise((ok, fail) => {
    const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => ok(r.result); r.onerror = fail;
  });
  const keys = await all("device");
  const records = await all("outbox");
  db.close();
  const latin1 = (buffer) => Array.from(new Uint8Array(buffer), (b) => String.fromCharCode(b)).join("");
  return {
    key: keys.some((k) => k instanceof CryptoKey),
    keyExtractable: keys.filter((k) => k instanceof CryptoKey).map((k) => k.extractable),
    records: records.map((r) => ({
      token: r.token, user: r.user, url: r.url, rejected: r.rejected,
      // Everything the record holds, as text: the encrypted data read as bytes, as UTF-8
      // and as Latin-1, so plain text would be found whatever its encoding.
      raw: JSON.stringify(r) + new TextDecoder().decode(r.data) + latin1(r.data),
    })),
  };
}"""


def outbox(page: Any) -> dict[str, Any] | None:
    """What the outbox in this browser holds (None: there is no outbox database)."""
    result: dict[str, Any] | None = page.evaluate(OUTBOX_DUMP)
    return result


KEPT = re.compile(r"^/(static/.+|manifest\.webmanifest|incidents/offline/(report|quick))$")


def kept_paths(page: Any) -> list[str]:
    """The paths of everything in this browser's Cache Storage."""
    paths: list[str] = page.evaluate(
        """async () => {
          const paths = [];
          for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            for (const request of await cache.keys()) { paths.push(new URL(request.url).pathname); }
          }
          return paths;
        }"""
    )
    return paths


def incidents_with(token: str) -> list[Incident]:
    fresh()
    return list(db.session.scalars(select(Incident).where(Incident.submission_token == token)))


def user_id(email: str) -> int:
    fresh()
    found = db.session.scalar(select(User.id).where(User.email == email))
    assert found is not None
    return found


def fill_report(page: Any) -> None:
    """The required fields of the full report; the time keeps its default."""
    expect(page.get_by_label("Wanneer gebeurde het?")).not_to_have_value("")
    page.get_by_role("radio", name="Huisbezoek", exact=True).check()
    page.get_by_role("checkbox", name="Bedreiging", exact=True).check()
    page.get_by_role("textbox", name="Korte beschrijving").fill(DESCRIPTION)


def submit_report(page: Any) -> None:
    page.get_by_role("button", name="Melding indienen").first.click()


def fill_quick_log(page: Any) -> None:
    page.get_by_role("radio", name="Verbale agressie", exact=True).check()
    page.get_by_role("radio", name="Huisbezoek", exact=True).check()
    page.get_by_role("textbox", name=re.compile("^Eén regel")).fill(NOTE)


def token_of(page: Any) -> str:
    token = page.locator("form[data-offline] input[name=submission_token]").input_value()
    assert 16 <= len(token) <= 64
    return str(token)


def expect_sent(page: Any) -> int:
    """Back online, the waiting page turned into the incident's page; returns its id."""
    expect(page).to_have_url(DETAIL_URL)
    expect(outbox_status(page)).to_contain_text(SENT)
    return int(DETAIL_URL.search(page.url).group(1))  # type: ignore[union-attr]


# --- The report form and the quick log, offline, at both widths -----------------------------


def test_a_report_made_offline_is_sent_once_when_the_network_is_back(
    page: Any, demo: None, server_log: ServerLog
) -> None:
    log_in(page, "employee@demo.test")
    page.goto("/incidents/new")
    expect(heading(page)).to_have_text("Meld een incident")
    wait_until_offline_ready(page)
    token = token_of(page)

    page.context.set_offline(True)
    with server_log.none_expected():
        fill_report(page)
        submit_report(page)
        expect(outbox_status(page)).to_contain_text(WAITING)
        expect(page.locator("form[data-offline]")).to_be_hidden()
        assert_accessible(page)
        assert incidents_with(token) == []  # nothing stored yet: it waits on the device
        kept = outbox(page)
        assert kept is not None and kept["key"] and kept["keyExtractable"] == [False]
        (record,) = kept["records"]
        assert record["token"] == token and record["user"] == str(user_id("employee@demo.test"))
        assert DESCRIPTION not in record["raw"] and "dreigde" not in record["raw"]

    page.context.set_offline(False)  # the `online` event: the page sends what waits
    incident_id = expect_sent(page)
    (incident,) = incidents_with(token)
    assert incident.id == incident_id and incident.description == DESCRIPTION
    assert incident.reporter_id == user_id("employee@demo.test") and not incident.is_draft
    kept = outbox(page)
    assert kept is not None and kept["records"] == []
    # The worker kept the shells and static files, never a page of the user (the home page,
    # the form with its CSRF token, the incident were all visited).
    paths = kept_paths(page)
    assert "/incidents/offline/report" in paths, paths
    assert all(KEPT.match(path) for path in paths), paths
    # Sent once: going back to the form's address leads to the same incident.
    page.goto(f"/incidents/new?t={token}")
    expect(page).to_have_url(re.compile(rf"/incidents/{incident_id}$"))
    assert len(incidents_with(token)) == 1


def test_the_quick_log_opens_offline_from_its_shell(
    page: Any, demo: None, server_log: ServerLog
) -> None:
    log_in(page, "employee@demo.test")
    wait_until_offline_ready(page)  # the home page had the worker keep both shells

    page.context.set_offline(True)
    with server_log.none_expected():
        page.goto("/incidents/quick")
        expect(heading(page)).to_have_text("Snelle melding")
        expect(page.locator("main")).to_contain_text(SHELL_NOTICE)
        # The shell names nobody: no menu, no logout, no name in the footer.
        expect(page.get_by_role("navigation", name="Hoofdmenu")).to_have_count(0)
        expect(page.locator("footer")).not_to_contain_text("Eva Employee")
        assert_accessible(page)
        token = token_of(page)  # made in the browser, one per report
        fill_quick_log(page)
        page.get_by_role("button", name="Melden").click()
        expect(outbox_status(page)).to_contain_text(WAITING)
        expect(page).to_have_url(re.compile(rf"/incidents/quick\?t={re.escape(token)}$"))
        assert incidents_with(token) == []

    page.context.set_offline(False)
    incident_id = expect_sent(page)
    (incident,) = incidents_with(token)
    assert incident.id == incident_id and incident.quick and incident.description == NOTE


def test_the_report_form_opens_offline_and_a_report_waits_across_reloads(
    page: Any, demo: None, server_log: ServerLog
) -> None:
    log_in(page, "employee@demo.test")
    page.goto("/incidents/new")
    wait_until_offline_ready(page)
    online_token = token_of(page)

    page.context.set_offline(True)
    with server_log.none_expected():
        # Reloaded without a network, the form opens from the worker's shell.
        page.reload()
        expect(heading(page)).to_have_text("Meld een incident")
        expect(page.locator("main")).to_contain_text(SHELL_NOTICE)
        assert_accessible(page)
        # The shell never reuses the address's token (it may belong to a report already
        # sent): each report made on it gets its own, and the time it was opened.
        token = token_of(page)
        assert token != online_token
        expect(page.get_by_label("Wanneer gebeurde het?")).not_to_have_value("")
        fill_report(page)
        submit_report(page)
        expect(outbox_status(page)).to_contain_text(WAITING)
        expect(page).to_have_url(re.compile(rf"/incidents/new\?t={re.escape(token)}$"))
        # Reloaded again: still the shell, still waiting.
        page.reload()
        expect(outbox_status(page)).to_contain_text(WAITING)
        expect(page.locator("form[data-offline]")).to_be_hidden()
        page.goto("/incidents/new")
        assert token_of(page) not in (token, online_token)
        assert incidents_with(token) == []

    page.context.set_offline(False)
    # After a reload without a network Chromium's emulation leaves navigator.onLine true, so
    # no `online` event comes: the user opens the waiting page again, as they would.
    page.goto(f"/incidents/new?t={token}")
    expect_sent(page)
    assert len(incidents_with(token)) == 1
    assert incidents_with(online_token) == []


# --- A network that fails while the browser believes it is online -----------------------------


def test_a_post_that_fails_on_the_way_is_kept_by_the_worker(
    browser: Any, live_server: str, demo: None
) -> None:
    # The requests this test makes fail are reported by Chromium as console errors.
    with own_context(
        browser, live_server, allowed="ERR_INTERNET_DISCONNECTED|Failed to load"
    ) as context:
        page = context.new_page()
        log_in(page, "employee@demo.test")
        page.goto("/incidents/new")
        wait_until_offline_ready(page)
        token = token_of(page)

        def cut(route: Any) -> None:
            route.abort("internetdisconnected")

        # Everything fails, as on a network that is there but lets nothing through.
        context.route("**/*", cut)
        fill_report(page)
        submit_report(page)
        expect(outbox_status(page)).to_contain_text(WAITING)
        expect(page).to_have_url(re.compile(rf"/incidents/new\?t={re.escape(token)}$"))
        assert incidents_with(token) == []
        kept = outbox(page)
        assert kept is not None and [r["token"] for r in kept["records"]] == [token]
        assert DESCRIPTION not in kept["records"][0]["raw"]

        context.unroute("**/*", cut)
        # No `online` event: the page tries again by itself (every 30 s, or on a reload).
        page.reload()
        expect_sent(page)
        assert len(incidents_with(token)) == 1


# --- Whose report it is, and logging out ---------------------------------------------------------


def test_a_report_is_sent_only_for_the_user_who_made_it(
    browser: Any, live_server: str, demo: None
) -> None:
    with own_context(browser, live_server) as context:
        page = context.new_page()
        log_in(page, "employee@demo.test")
        page.goto("/incidents/quick")
        wait_until_offline_ready(page)
        token = token_of(page)
        context.set_offline(True)
        fill_quick_log(page)
        page.get_by_role("button", name="Melden").click()
        expect(outbox_status(page)).to_contain_text(WAITING)

        # The session ends while the device is offline (idle too long): back online, the
        # report waits for its user to sign in.
        context.clear_cookies()
        context.set_offline(False)
        expect(outbox_status(page)).to_contain_text(SIGN_IN)
        assert incidents_with(token) == []

        # Someone else signs in on this device: the report is not theirs, and stays.
        log_in(page, "witness@demo.test")
        page.goto("/incidents")
        expect(heading(page)).to_have_text("Mijn incidenten")
        expect(outbox_status(page)).to_be_hidden()
        assert incidents_with(token) == []
        kept = outbox(page)
        assert kept is not None and [r["token"] for r in kept["records"]] == [token]

        # Its own user signs in again: it is sent, as theirs.
        context.clear_cookies()
        log_in(page, "employee@demo.test")
        expect(outbox_status(page)).to_contain_text(SENT)
        (incident,) = incidents_with(token)
        assert incident.reporter_id == user_id("employee@demo.test")
        kept = outbox(page)
        assert kept is not None and kept["records"] == []


def test_logout_deletes_the_key_and_the_outbox(browser: Any, live_server: str, demo: None) -> None:
    with own_context(browser, live_server) as context:
        page = context.new_page()
        log_in(page, "employee@demo.test")
        page.goto("/incidents/new")
        wait_until_offline_ready(page)
        token = token_of(page)
        # A report the server will refuse: sent without what happened and where.
        context.set_offline(True)
        page.get_by_role("textbox", name="Korte beschrijving").fill(DESCRIPTION)
        submit_report(page)
        expect(outbox_status(page)).to_contain_text(WAITING)

        # Back online it is sent, refused, and opened with what needs changing marked.
        context.set_offline(False)
        expect(page.locator("#error-summary")).to_be_visible()
        expect(page.get_by_role("textbox", name="Korte beschrijving")).to_have_value(DESCRIPTION)
        assert token_of(page) == token and incidents_with(token) == []
        kept = outbox(page)
        assert kept is not None and [r["rejected"] for r in kept["records"]] == [True]

        page.wait_for_load_state("load")  # offline.js (deferred) watches the logout button
        # Logging out: the report could not be sent, so the user is asked first.
        asked: list[str] = []

        def answer(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.accept()

        page.on("dialog", answer)
        page.get_by_role("button", name="Uitloggen").click()
        expect(page).to_have_url(re.compile(r"/login$"))
        assert len(asked) == 1
        assert outbox(page) is None  # the key and the outbox are gone
        assert page.evaluate("caches.keys()") == []
        assert page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0
        assert incidents_with(token) == []
