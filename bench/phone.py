"""The phone check of `make bench` (issue 17): is the report form usable within 2 s on a slow
phone?

Headless Chromium (Playwright) as a phone 390 px wide, its CPU slowed down 4x and its network
at DevTools' "Slow 4G" preset, both through the Chrome DevTools Protocol
(`Emulation.setCPUThrottlingRate`, `Network.emulateNetworkConditions`). An employee logs in
once (without throttling); then each load is a fresh browser context with only the session
cookie (an empty cache) that opens the report form at the address of the home page's "Report an
incident" button (which carries a fresh submission token, so no redirect). The form is usable when the page's scripts have
run (DOMContentLoaded, after the deferred picker.js) and every colleague picker has become a
combobox, and the submit button is there, visible and enabled; the time is the page's own
clock (`performance.now()`, from the start of the navigation) at the first check that finds
all of that.
"""

from __future__ import annotations

import re
import shutil
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.servers import percentile

LOADS = 10
TIMEOUT_MS = 30_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
CPU_SLOWDOWN = 4
# DevTools' "Slow 4G" preset (SDK.NetworkManager.Slow4GConditions): Lighthouse's mobile
# network (150 ms round trip, 1.6 Mbps down, 750 Kbps up) adjusted for throttling each request
# rather than each packet: latency x 3.75, throughput x 0.9. Throughput in bytes per second.
SLOW_4G = {
    "offline": False,
    "latency": 150 * 3.75,
    "downloadThroughput": 1.6 * 1000 * 1000 / 8 * 0.9,
    "uploadThroughput": 750 * 1000 / 8 * 0.9,
}

# Runs in every document of the context before the page's own scripts (CDP, so the page's
# Content-Security-Policy does not apply to it).
WATCH = """
(() => {
  if (location.pathname !== "/incidents/new") { return; }
  const state = (window.__bench = {});
  window.__benchUsable = () => {
    const submit = document.querySelector("form [type=submit][name=submit]");
    const pickers = document.querySelectorAll("[data-picker]").length;
    const ready = document.querySelectorAll(
      "[data-picker] [data-picker-input][role=combobox]").length;
    let shown = false;
    if (submit) {
      const box = submit.getBoundingClientRect();
      const style = getComputedStyle(submit);
      shown = box.width > 0 && box.height > 0 && style.visibility !== "hidden";
    }
    return { submit: !!submit, enabled: !!submit && !submit.disabled, shown: shown,
             pickers: pickers, ready: ready };
  };
  const check = () => {
    const seen = window.__benchUsable();
    if (seen.enabled && seen.shown && seen.pickers > 0 && seen.ready === seen.pickers) {
      state.usable = performance.now();
    } else {
      setTimeout(check, 10);
    }
  };
  document.addEventListener("DOMContentLoaded", () => {
    state.dcl = performance.now();
    setTimeout(check, 0);  // after the page's own DOMContentLoaded listeners
  });
})();
"""

COLLECT = """
() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const paint = performance.getEntriesByName("first-contentful-paint")[0];
  const resources = performance.getEntriesByType("resource");
  return {
    usable_ms: window.__bench.usable,
    dom_content_loaded_ms: nav.domContentLoadedEventEnd,
    redirect_ms: nav.redirectEnd - nav.redirectStart,
    // as if the button linked to the form's own address: from the start of its request
    usable_after_redirect_ms: window.__bench.usable - nav.fetchStart,
    response_end_ms: nav.responseEnd,
    first_contentful_paint_ms: paint ? paint.startTime : null,
    requests: 1 + nav.redirectCount + resources.length,
    transfer_bytes: nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
    document_bytes: nav.decodedBodySize,
  };
}
"""


@dataclass
class PhoneResult:
    """The loads of the report form on the throttled phone."""

    loads: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    skipped: str = ""  # why the check did not run (no Chromium, no Playwright)

    def usable_ms(self) -> list[float]:
        return [load["usable_ms"] for load in self.loads]

    def median_ms(self) -> float:
        times = self.usable_ms()
        return statistics.median(times) if times else 0.0

    def p95_ms(self) -> float:
        return percentile(self.usable_ms(), 0.95)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cpu_slowdown": CPU_SLOWDOWN,
            "network": {"preset": "DevTools Slow 4G", **SLOW_4G},
            "viewport": PHONE["viewport"],
            "median_usable_ms": round(self.median_ms(), 1),
            "p95_usable_ms": round(self.p95_ms(), 1),
            "loads": self.loads,
            "failures": self.failures,
            "skipped": self.skipped,
        }


def chromium_path() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def check_report_form(base_url: str, email: str, password: str, loads: int = LOADS) -> PhoneResult:
    """Log in as `email`, then load the report form `loads` times on the throttled phone."""
    result = PhoneResult()
    executable = chromium_path()
    if executable is None:
        result.skipped = "Chromium is not installed"
        return result
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        result.skipped = "Playwright is not installed (pip install -e '.[test]')"
        return result
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            state = _log_in(browser, base_url, email, password)
        except (PlaywrightError, RuntimeError) as error:
            result.failures = [_first_line(error)] * loads
            browser.close()
            return result
        try:
            for _ in range(loads):
                try:
                    result.loads.append(_load_form(browser, base_url, state))
                except (PlaywrightError, RuntimeError) as error:
                    result.failures.append(_first_line(error))
        finally:
            browser.close()
    return result


def _first_line(error: Exception) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0][:300]


def _log_in(browser: Any, base_url: str, email: str, password: str) -> Any:
    """The session of `email` (its cookies), logged in through the real form, unthrottled."""
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        page.goto(f"{base_url}/login", timeout=TIMEOUT_MS)
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        with page.expect_navigation(timeout=TIMEOUT_MS):
            page.click("form:has(input[name=password]) [type=submit]")
        if "/login" in page.url:
            raise RuntimeError(f"the phone could not log in as {email} ({page.url})")
        return context.storage_state()
    finally:
        context.close()


def _load_form(browser: Any, base_url: str, state: Any) -> dict[str, Any]:
    """One throttled load of the report form in a fresh context: its timings."""
    context = browser.new_context(storage_state=state, **PHONE)
    try:
        context.add_init_script(WATCH)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW_4G)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
        # The home page's button, read outside the page (its cache stays empty).
        home = context.request.get(f"{base_url}/", timeout=TIMEOUT_MS).text()
        button = re.search(r'href="(/incidents/new\?t=[\w-]+)"', home)
        if button is None:
            raise RuntimeError("the home page has no button to the report form with a token")
        page.goto(f"{base_url}{button.group(1)}", wait_until="commit", timeout=TIMEOUT_MS)
        try:
            page.wait_for_function(
                "() => window.__bench && window.__bench.usable !== undefined",
                timeout=TIMEOUT_MS,
            )
        except Exception as error:
            seen = page.evaluate("() => window.__benchUsable ? window.__benchUsable() : null")
            raise RuntimeError(f"the form was not usable within {TIMEOUT_MS} ms: {seen}") from error
        if "/incidents/new?t=" not in page.url:
            raise RuntimeError(f"the phone ended at {page.url}, not the report form")
        timings: dict[str, Any] = page.evaluate(COLLECT)
        return {k: round(v, 1) if isinstance(v, float) else v for k, v in timings.items()}
    finally:
        context.close()
