"""A real OpenID provider for the tests: `oidc-provider` (the certified Node.js implementation)
installed from npm into a folder of the test session and started on a free loopback port.

Its settings and test accounts are in tests/oidc_provider.mjs. `OidcProvider.browse` walks its
pages as a person would (the login form, the consent page, the logout question) with a
`requests` session standing in for the browser, and hands back the address the provider sends
the browser to next: the app's callback, or the page after logging out.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from tests.postgres_server import free_port

# Pinned, so every run tests against the same provider: the 8.x line, which runs on the
# Node.js 20 of this machine; moving to a new major is a change of its own.
PACKAGE = "oidc-provider@8.8.1"
SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
TIMEOUT = 10

# The client of the web tests: the app as it sees itself at this address (the test client
# never opens it; the tests hand the provider's redirects to the test client themselves).
APP_URL = "http://incidents.test"
CLIENT_ID = "incidents"
CLIENT_SECRET = "incidents-test-client-secret"


class ProviderUnavailable(RuntimeError):
    """npm could not install the provider, or node could not start it."""


class LoginRequired(AssertionError):
    """`browse` without a login name met the provider's login form: no session there."""


def find_node() -> tuple[Path | None, Path | None]:
    """The node and npm programs; None for one that is not installed."""
    node = shutil.which("node") or shutil.which("nodejs")
    npm = shutil.which("npm")
    return (Path(node) if node else None, Path(npm) if npm else None)


def install(npm: Path, root: Path) -> None:
    """`npm install` the pinned provider into `root` (npm's own cache makes a repeat quick)."""
    command = [str(npm), "install", "--prefix", str(root), PACKAGE, "--no-audit", "--no-fund"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise ProviderUnavailable(f"npm install {PACKAGE} failed:\n{done.stderr[-2000:]}")


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)


class _Forms(HTMLParser):
    """The forms of a page: their action and the values of their named inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, Form] = {}
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._current = Form(values.get("action", ""))
            self.forms[values.get("id") or str(len(self.forms))] = self._current
        elif tag == "input" and self._current is not None and values.get("name"):
            self._current.fields[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def forms_of(html: str) -> list[Form]:
    parser = _Forms()
    parser.feed(html)
    return list(parser.forms.values())


class OidcProvider:
    """One oidc-provider process; `issuer` is its address."""

    def __init__(self, node: Path, root: Path) -> None:
        self.node = node
        self.root = root
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> OidcProvider:
        settings = {
            "issuer": self.issuer,
            "port": self.port,
            "clients": [
                {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "redirect_uris": [f"{APP_URL}/login/oidc/callback"],
                    "post_logout_redirect_uris": [f"{APP_URL}/login"],
                    "response_types": ["code"],
                    "grant_types": ["authorization_code"],
                }
            ],
        }
        (self.root / "settings.json").write_text(json.dumps(settings))
        # Beside its node_modules, so that `import 'oidc-provider'` finds the package.
        shutil.copyfile(SCRIPT, self.root / "provider.mjs")
        with (self.root / "provider.log").open("wb") as log:  # the child keeps its own copy
            self.process = subprocess.Popen(
                [str(self.node), str(self.root / "provider.mjs"), str(self.root / "settings.json")],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ProviderUnavailable(
                    f"node exited with {self.process.returncode}:\n{self.log()[-2000:]}"
                )
            try:
                if requests.get(self.discovery_url, timeout=1).ok:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        self.stop()
        raise ProviderUnavailable(f"oidc-provider did not answer:\n{self.log()[-2000:]}")

    def log(self) -> str:
        path = self.root / "provider.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def metadata(self) -> dict[str, Any]:
        result: dict[str, Any] = requests.get(self.discovery_url, timeout=TIMEOUT).json()
        return result

    def add_account(
        self,
        sub: str,
        email: str | None = None,
        *,
        name: str | None = None,
        email_verified: bool | None = None,
        userinfo_only: bool = False,
    ) -> None:
        """An account at the provider; log in with `sub` as the login name."""
        claims: dict[str, Any] = {}
        if email is not None:
            claims["email"] = email
        if name is not None:
            claims["name"] = name
        if email_verified is not None:
            claims["email_verified"] = email_verified
        response = requests.post(
            f"{self.issuer}/_test/accounts",
            json={"sub": sub, "claims": claims, "userinfoOnly": userinfo_only},
            timeout=TIMEOUT,
        )
        response.raise_for_status()

    def register_client(self, app_url: str) -> tuple[str, str]:
        """A client for an app at `app_url` (dynamic registration): its id and secret."""
        response = requests.post(
            self.metadata()["registration_endpoint"],
            json={
                "redirect_uris": [f"{app_url}/login/oidc/callback"],
                "post_logout_redirect_uris": [f"{app_url}/login"],
                "response_types": ["code"],
                "grant_types": ["authorization_code"],
                "token_endpoint_auth_method": "client_secret_basic",
            },
            timeout=TIMEOUT,
        )
        response.raise_for_status()
        client = response.json()
        return str(client["client_id"]), str(client["client_secret"])

    def browse(
        self,
        http: requests.Session,
        url: str,
        login: str | None = None,
        *,
        cancel: bool = False,
        sign_out: bool = True,
    ) -> str:
        """Open `url` (an authorization or logout request) in `http` and go through the
        provider's pages: log in as `login` (or cancel there), consent, answer the logout
        question with `sign_out`. Returns the first address outside the provider."""
        for _ in range(20):
            response = http.get(url, allow_redirects=False, timeout=TIMEOUT)
            while response.is_redirect:
                url = urljoin(url, response.headers["Location"])
                if not url.startswith(self.issuer + "/"):
                    return url
                response = http.get(url, allow_redirects=False, timeout=TIMEOUT)
            assert response.status_code == 200, (url, response.status_code, response.text[:500])
            forms = forms_of(response.text)
            assert forms, f"no form on the provider's page {url}:\n{response.text[:1000]}"
            form = forms[0]
            data = dict(form.fields)
            if data.get("prompt") == "login":
                if cancel:
                    url = url.rstrip("/") + "/abort"
                    continue
                if login is None:
                    raise LoginRequired(f"the provider asks to log in at {url}")
                data.update(login=login, password="any password will do")
            elif "xsrf" in data and sign_out:  # the logout question: yes
                data["logout"] = "yes"
            response = http.post(
                urljoin(url, form.action), data=data, allow_redirects=False, timeout=TIMEOUT
            )
            assert response.is_redirect, (form.action, response.status_code, response.text[:500])
            url = urljoin(url, response.headers["Location"])
            if not url.startswith(self.issuer + "/"):
                return url
        raise AssertionError(f"the provider's pages did not end (last {url})")


def started(node: Path, npm: Path, root: Path) -> OidcProvider:
    """Install the provider into `root` and start it."""
    install(npm, root)
    return OidcProvider(node, root).start()
