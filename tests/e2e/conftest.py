"""End-to-end harness: the app on a live server, driven by headless Chromium.

- `live_server`: the test's app (see `app` in tests/conftest.py, so SQLite and PostgreSQL)
  served by werkzeug on 127.0.0.1 and a free port, in a daemon thread; yields the base URL.
- `browser`: one headless Chromium for the whole session (never downloaded: the system's).
- `page`: a fresh browser context and page per test, once per viewport (desktop, phone),
  with `base_url` set to the live server, so `page.goto("/login")` works.
- `assert_accessible(page)`: axe-core on the current page; fails on serious or critical
  violations. `assert_no_horizontal_scroll(page)`: the page fits its viewport's width.

Every test under tests/e2e gets the `e2e` marker, so `-m "not e2e"` skips them all.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.conftest import missing

E2E_DIR = Path(__file__).resolve().parent

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# How long Playwright waits for an element or a navigation (ms). Pages here are tiny and
# local; a short limit makes a broken flow fail fast instead of hanging for 30 s.
TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class Viewport:
    name: str
    width: int
    height: int
    is_mobile: bool = False
    has_touch: bool = False

    def context_options(self) -> dict[str, Any]:
        return {
            "viewport": {"width": self.width, "height": self.height},
            "is_mobile": self.is_mobile,
            "has_touch": self.has_touch,
        }


DESKTOP = Viewport("desktop", 1280, 900)
PHONE = Viewport("phone", 390, 844, is_mobile=True, has_touch=True)
VIEWPORTS = [DESKTOP, PHONE]


# When the browser drops a connection while the live server sends a static file, Werkzeug's
# development server can skip closing it (a read on the dropped socket fails first), and the
# garbage collector reports the open file later, in whichever test runs then. That is the
# server's, not the app's: production serves with gunicorn.
_DROPPED_STATIC_FILE = (
    r"ignore:Exception ignored in. <_io.FileIO name='.*/incidents/static/"
    r":pytest.PytestUnraisableExceptionWarning"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test in this folder is an e2e test. Each runs at both viewports on SQLite, and at
    the desktop one on PostgreSQL: the layout does not depend on the database, nor what the
    server does on the width of the screen (and CI has 20 minutes)."""
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.filterwarnings(_DROPPED_STATIC_FILE))
            item.add_marker(pytest.mark.postgresql_with(viewport=[DESKTOP]))


# --- The live server -----------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    """No access-log line per request (errors are still logged)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served on 127.0.0.1 and a free port; yields the base URL (no trailing slash).

    Requests run in the server's threads, each in its own app context and database session,
    as in production. The test's own app context (from `app`) stays in the test's thread.
    """
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    # A short poll interval: shutdown() waits up to one interval (default 0.5 s per test).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --- The browser ---------------------------------------------------------------------------


def _chromium_path() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session. Never downloads a browser."""
    executable = _chromium_path()
    if executable is None:
        missing("Chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra is not installed
        missing("Playwright (pip install -e '.[test]')")
        raise
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@dataclass
class BrowserProblems:
    """JavaScript errors and console errors seen on a page (CSP violations end up here)."""

    errors: list[str]


@pytest.fixture(params=VIEWPORTS, ids=[v.name for v in VIEWPORTS])
def viewport(request: pytest.FixtureRequest) -> Viewport:
    return request.param


@pytest.fixture
def page(browser: Any, live_server: str, viewport: Viewport) -> Iterator[Any]:
    """A new context and page per test, at the test's viewport, pointed at the live server.

    Fails the test when the browser reported a JavaScript error or a console error (for
    example a resource blocked by the Content-Security-Policy, or a missing file).
    """
    context = browser.new_context(
        base_url=live_server,
        locale="nl-NL",
        timezone_id="Europe/Amsterdam",
        **viewport.context_options(),
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    problems = BrowserProblems(errors=[])
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: problems.errors.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                problems.errors.append(f"console {message.type}: {message.text} ({page.url})")
                if message.type == "error"
                else None
            ),
        )
        yield page
        page.close()
    finally:
        context.close()
    assert not problems.errors, "the browser reported errors:\n" + "\n".join(problems.errors)


# --- Checks shared by the flows -------------------------------------------------------------

FAILING_IMPACTS = frozenset({"serious", "critical"})

_axe: Any = None


def _get_axe() -> Any:
    global _axe
    if _axe is None:
        from axe_playwright_python.sync_playwright import Axe

        _axe = Axe()
    return _axe


def assert_accessible(page: Any, context: str | list[Any] | dict[str, Any] | None = None) -> None:
    """Run axe-core on the current page; fail on any serious or critical violation.

    The failure message names each rule, its impact, a help link and every offending
    element's selector, so it can be fixed without re-running the browser.
    """
    results = _get_axe().run(page, context=context)
    violations = []
    for violation in results.response["violations"]:
        if violation.get("impact") not in FAILING_IMPACTS:
            continue
        nodes = violation["nodes"]
        if nodes:
            violations.append({**violation, "nodes": nodes})
    if not violations:
        return
    lines = [f"{len(violations)} serious/critical accessibility violation(s) on {page.url}:"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f" <{violation.get('helpUrl', '')}>"
        )
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"    target: {target}")
            summary = (node.get("failureSummary") or "").replace("\n", " ").strip()
            if summary:
                lines.append(f"      {summary}")
    pytest.fail("\n".join(lines), pytrace=False)


def assert_no_horizontal_scroll(page: Any) -> None:
    """The document is no wider than the viewport (no sideways scrolling on a phone)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport_width = page.viewport_size["width"]
    if width > viewport_width:
        culprits = page.evaluate(
            """(limit) => Array.from(document.querySelectorAll('body *'))
                .filter(el => el.getBoundingClientRect().right > limit + 0.5)
                .slice(0, 10)
                .map(el => el.tagName.toLowerCase()
                     + (el.id ? '#' + el.id : '')
                     + (el.className && typeof el.className === 'string'
                        ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
                     + ' (right edge ' + Math.round(el.getBoundingClientRect().right) + ')')""",
            viewport_width,
        )
        pytest.fail(
            f"{page.url} scrolls sideways: scrollWidth {width} > viewport {viewport_width};"
            f" elements past the edge: {', '.join(culprits) or 'none found'}",
            pytrace=False,
        )
