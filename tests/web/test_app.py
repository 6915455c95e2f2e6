"""Health probes, production configuration, security headers, cookies and error pages."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from incidents.models import Role
from tests.conftest import PASSWORD, ROOT, make_app, run_fresh


def test_healthz_answers_without_the_database(client):
    assert client.get("/healthz").status_code == 200


def test_readyz_answers_when_the_database_does(client):
    assert client.get("/readyz").status_code == 200


def test_probes_with_a_database_that_does_not_answer():
    # A PostgreSQL URL on a port where nothing listens.
    app = make_app(
        "postgresql+psycopg://nobody@127.0.0.1:9/nothing?connect_timeout=1",
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": False},
    )
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503


def run_production(
    env_overrides,
    code="from incidents import create_app; create_app('production'); print('started')",
):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DATABASE_URL", "BASE_URL"} and not k.startswith("INCIDENTS_")
    }
    env.update(env_overrides)
    env["INCIDENTS_INSTANCE_PATH"] = "/nonexistent/instance"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run_production({"DATABASE_URL": "postgresql://u@localhost/db"})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "incidents: set SECRET_KEY to a long random value, e.g. from `openssl rand -hex 32`"
    ]


def test_production_refuses_to_start_without_a_database_url():
    result = run_production({"SECRET_KEY": "x" * 64})
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "base_url", [None, "", "http://127.0.0.1:5000", "nazorg.example.org", "ftp://example.org"]
)
def test_production_refuses_to_start_without_its_own_base_url(base_url):
    env = {"SECRET_KEY": "x" * 64, "DATABASE_URL": "postgresql://u@localhost/db"}
    if base_url is not None:
        env["BASE_URL"] = base_url  # missing, empty, the development default, no address
    result = run_production(env)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "incidents: set BASE_URL to the address users open, e.g. https://nazorg.example.org"
    ]


def test_production_reads_database_url_and_uses_psycopg3():
    code = (
        "from incidents import create_app; app = create_app('production'); "
        "print(app.config['SQLALCHEMY_DATABASE_URI'], app.config['SESSION_COOKIE_SECURE'], app.config['DEMO'], app.config['BASE_URL'])"
    )
    result = run_production(
        {
            "SECRET_KEY": "x" * 64,
            "DATABASE_URL": "postgres://u:p@db.internal/incidents",
            "BASE_URL": "https://nazorg.example.org",
        },
        code,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "postgresql+psycopg://u:p@db.internal/incidents",
        "True",
        "False",
        "https://nazorg.example.org",
    ]


def test_security_headers_on_every_response(client):
    for url in ("/login", "/healthz", "/no-such-page", "/static/css/app.css"):
        response = client.get(url)
        headers = response.headers
        response.close()
        csp = headers["Content-Security-Policy"]
        assert (
            "unsafe-inline" not in csp
            and "frame-ancestors 'none'" in csp
            and "script-src 'self'" in csp
        )
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Frame-Options"] == "DENY"
    assert client.get("/login").headers["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_and_samesite(client, make_user):
    make_user(email="cookie@example.test")
    response = client.post("/login", data={"email": "cookie@example.test", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure():
    from config import ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_SECURE and ProductionConfig.REMEMBER_COOKIE_SECURE


def test_error_pages_are_rendered_in_the_layout(login_as):
    client = login_as(Role.EMPLOYEE)
    not_found = client.get("/does-not-exist")
    assert not_found.status_code == 404 and "Pagina niet gevonden" in not_found.text
    forbidden = client.get("/admin/users")
    assert forbidden.status_code == 403 and "Geen toegang" in forbidden.text


def test_500_page_rolls_back_and_shows_a_message(app, make_user):
    from tests.conftest import login

    probe = make_app(app.config["SQLALCHEMY_DATABASE_URI"], PROPAGATE_EXCEPTIONS=False)

    def boom():
        raise RuntimeError("boom")

    from incidents.security import ALL_ROLES, roles

    probe.add_url_rule("/_boom", "boom", roles(*ALL_ROLES)(boom))
    client = probe.test_client()
    login(client, make_user())
    response = client.get("/_boom")
    assert response.status_code == 500
    assert "Er ging iets mis" in response.text
    with probe.app_context():
        from incidents.extensions import db

        db.engine.dispose()


def test_an_oversized_request_gets_a_clear_413(login_as):
    client = login_as(Role.HR)
    response = client.post("/hr/conversations/upload", data={"file": "x" * (5 * 1024 * 1024)})
    assert response.status_code == 413
    assert "te groot" in response.text


def test_control_characters_are_dropped_from_input(client, make_user):
    """NUL and other control characters would break PostgreSQL; tabs and newlines stay."""
    make_user(email="nul@example.test")
    response = client.post(
        "/login", data={"email": "nul@exa\x00mple.test", "password": "x\x00" * 8}
    )
    assert response.status_code == 200
    assert client.get("/login?next=/\x00x").status_code == 200


def test_a_worker_loads_alembic_and_scim_models_only_when_it_needs_them(tmp_path):
    """Alembic with Flask-Migrate and scim2-models with pydantic (27 MiB per worker, the bench's
    `worker_rss_mb`) are imported by the first migration and the first SCIM request, which
    then work as before."""
    script = (
        "import sys\n"
        "from incidents import create_app\n"
        "heavy = ('alembic', 'flask_migrate', 'scim2_models', 'pydantic')\n"
        "app = create_app()\n"
        "client = app.test_client()\n"
        "client.get('/login')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "from flask_migrate import current, upgrade\n"
        "with app.app_context():\n"
        "    upgrade()\n"
        "    current()\n"
        "answer = client.get('/scim/v2/Users')\n"
        "print(answer.status_code, answer.json['schemas'], answer.mimetype)\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = run_fresh(script, tmp_path)
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "[]", result.stderr
    assert lines[-2] == (
        "401 ['urn:ietf:params:scim:api:messages:2.0:Error'] application/scim+json"
    )
    assert lines[-1] == "['alembic', 'flask_migrate', 'pydantic', 'scim2_models']"
    assert "(head)" in result.stdout + result.stderr
