"""Locust scenarios for `make bench`: one user class per measured endpoint.

`bench/run.py` starts locust once per endpoint with the class to run, and hands over the
accounts and incident ids in the JSON file named by BENCH_PARAMS. Each user logs in through the
real login form in `on_start` and warms the page up (requests named "warm-up", not counted).
Locust rounds response times in its CSV files; the unrounded times of every request are also
written, by name, to the JSON file named by BENCH_SAMPLES when locust quits.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import secrets
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


class Submit(_Page):
    """A real report: the form (with its CSRF and submission tokens), then the POST."""

    account = "employees"
    name = "submit"

    def path(self) -> str:
        return f"/incidents/new?t={secrets.token_urlsafe(24)}"

    @task
    def report(self) -> None:
        form = self.client.get(self.path(), name="report form", allow_redirects=False)
        html = form.text or ""
        token = hidden_value(html, "submission_token")
        if form.status_code != 200 or not token:
            return
        data = {
            "csrf_token": hidden_value(html, "csrf_token") or "",
            "submission_token": token,
            "occurred_at": hidden_value(html, "occurred_at") or "",
            "channel": random.choice(("counter", "phone", "interview_room")),  # noqa: S311
            "types": random.choice(("verbal", "verbal", "intimidation", "threat")),  # noqa: S311
            "description": "Client shouted at the counter after the decision was explained.",
            "affected_self": "y",
            "perpetrator_known": "unknown",
            "submit": "Submit report",
        }
        with self.client.post(
            f"/incidents/new?t={token}",
            data=data,
            name="submit",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            location = response.headers.get("Location", "") if response.headers else ""
            if response.status_code not in (302, 303) or "/incidents/" not in location:
                response.failure(f"status {response.status_code}, location {location!r}")
                return
        # As a browser does: open the new incident, which shows (and so clears) the "thank
        # you" message; left in the session, every message would make its cookie longer.
        self.client.get(location, name="after submit", allow_redirects=False)
