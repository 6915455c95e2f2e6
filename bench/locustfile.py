"""Locust scenarios for `make bench`: one user class per measured endpoint.

`bench/run.py` starts locust once per endpoint with the class to run, and hands over the
accounts and incident ids in the JSON file named by BENCH_PARAMS. Each user logs in through the
real login form in `on_start` and warms the page up (requests named "warm-up", not counted).
Locust rounds response times in its CSV files; the unrounded times of every request are also
written, by name, to the JSON file named by BENCH_SAMPLES when locust quits.

`Submit` measures two things in one run: the POST of the report alone ("submit_post") and the
whole flow a reporter waits for ("submit": the form, the POST and the new incident's page, one
request event of type FLOW with the wall time of the three).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import secrets
import time
from pathlib import Path
from typing import Any

from locust import FastHttpUser, constant, events, task
from locust.exception import StopUser

PARAMS: dict[str, Any] = (
    json.loads(Path(os.environ["BENCH_PARAMS"]).read_text()) if "BENCH_PARAMS" in os.environ else {}
)
SAMPLES: dict[str, list[float]] = {}
_INPUT = re.compile(r"<input\b[^>]*>")
_VALUE = re.compile(r'\bvalue="([^"]*)"')
_accounts: dict[str, itertools.cycle[str]] = {}


def hidden_value(html: str, name: str) -> str | None:
    """The value of the input called `name` in a page, or None."""
    for tag in _INPUT.findall(html):
        if f'name="{name}"' in tag:
            found = _VALUE.search(tag)
            return found[1] if found else ""
    return None


@events.request.add_listener
def _sample(name: str, response_time: float, **_: Any) -> None:
    SAMPLES.setdefault(name, []).append(response_time)


@events.quitting.add_listener
def _write_samples(**_: Any) -> None:
    if "BENCH_SAMPLES" in os.environ:
        Path(os.environ["BENCH_SAMPLES"]).write_text(json.dumps(SAMPLES))


class _Page(FastHttpUser):
    """Logs in as one of the accounts under `account` in the parameters, then asks for a page."""

    abstract = True
    wait_time = constant(0)
    account = ""
    name = ""

    def on_start(self) -> None:
        if self.account:
            self.login(
                next(_accounts.setdefault(self.account, itertools.cycle(PARAMS[self.account])))
            )
        for _ in range(2):
            self.client.get(self.path(), name="warm-up", allow_redirects=False)

    def login(self, email: str) -> None:
        form = self.client.get("/login", name="login form")
        with self.client.post(
            "/login",
            data={
                "csrf_token": hidden_value(form.text or "", "csrf_token") or "",
                "email": email,
                "password": PARAMS["password"],
                "next": "",
            },
            name="login",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"login as {email} answered {response.status_code}")
                raise StopUser

    def path(self) -> str:
        raise NotImplementedError


class _SimplePage(_Page):
    """Asks for one page again and again; anything but a 200 is a failure."""

    abstract = True

    @task
    def page(self) -> None:
        with self.client.get(
            self.path(), name=self.name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")


class Healthz(_SimplePage):
    name = "healthz"

    def path(self) -> str:
        return "/healthz"


class Statistics(_SimplePage):
    """HR's statistics page, default period (this year), by type."""

    account = "hr"
    name = "statistics"

    def path(self) -> str:
        return "/hr/statistics"


class Inbox(_SimplePage):
    """A manager's aftercare inbox (open steps)."""

    account = "manager"
    name = "inbox"

    def path(self) -> str:
        return "/aftercare"


class IncidentPage(_SimplePage):
    """Incidents the manager may see: an employee of their team was affected."""

    account = "manager"
    name = "incident"

    def path(self) -> str:
        return f"/incidents/{random.choice(PARAMS['incident_ids'])}"  # noqa: S311


def report_form_path() -> str:
    """The report form with a fresh submission token (without one the app redirects to this)."""
    return f"/incidents/new?t={secrets.token_urlsafe(24)}"


class ReportForm(_SimplePage):
    """An employee opening the report form (a colleague picker, not a list of all 15,000)."""

    account = "employees"
    name = "form"

    def path(self) -> str:
        return report_form_path()


class Submit(_Page):
    """A real report: the form (with its CSRF and submission tokens), the POST, naming a
    colleague from elsewhere in the organisation as a witness (as the picker posts its id),
    then the new incident's page."""

    account = "employees"
    name = "submit"

    def path(self) -> str:
        return report_form_path()

    @task
    def report(self) -> None:
        began = time.perf_counter()
        size = 0
        try:
            size = self._report()
        except _FlowFailed as failed:
            self._flow(began, size, failed)
        else:
            self._flow(began, size, None)

    def _flow(self, began: float, size: int, failed: Exception | None) -> None:
        self.environment.events.request.fire(
            request_type="FLOW",
            name="submit",
            response_time=(time.perf_counter() - began) * 1000,
            response_length=size,
            response=None,
            context={},
            exception=failed,
        )

    def _report(self) -> int:
        """Form, POST, incident page; the bytes received, or _FlowFailed."""
        form = self.client.get(self.path(), name="report form", allow_redirects=False)
        html = form.text or ""
        token = hidden_value(html, "submission_token")
        if form.status_code != 200 or not token:
            raise _FlowFailed(f"report form: status {form.status_code}")
        witness = random.choice(PARAMS["colleagues"])  # noqa: S311
        data = {
            "csrf_token": hidden_value(html, "csrf_token") or "",
            "submission_token": token,
            "occurred_at": hidden_value(html, "occurred_at") or "",
            "channel": random.choice(("counter", "phone", "interview_room")),  # noqa: S311
            "types": random.choice(("verbal", "verbal", "intimidation", "threat")),  # noqa: S311
            "description": "Client shouted at the counter after the decision was explained.",
            "affected_self": "y",
            "witnesses": str(witness),
            "perpetrator_known": "unknown",
            "submit": "Submit report",
        }
        with self.client.post(
            f"/incidents/new?t={token}",
            data=data,
            name="submit_post",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            location = response.headers.get("Location", "") if response.headers else ""
            if response.status_code not in (302, 303) or "/incidents/" not in location:
                response.failure(f"status {response.status_code}, location {location!r}")
                raise _FlowFailed(f"submit_post: status {response.status_code}")
        # As a browser does: open the new incident, which shows (and so clears) the "thank
        # you" message; left in the session, every message would make its cookie longer.
        with self.client.get(
            location, name="after submit", allow_redirects=False, catch_response=True
        ) as page:
            if page.status_code != 200:
                page.failure(f"status {page.status_code}")
                raise _FlowFailed(f"after submit: status {page.status_code}")
        return len(form.content or b"") + len(page.content or b"")


class _FlowFailed(Exception):
    """A request of the submit flow went wrong (it is also a failure of its own)."""
