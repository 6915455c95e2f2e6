"""Absolute addresses of this site, for what is read outside the browser: mails and the
calendar feed. They start with BASE_URL, never with the request's Host header, which the
client chooses (a request with `Host: evil.example` must not put evil.example in a feed)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values: Any) -> str:
    """The absolute address of `endpoint` with `values`, under BASE_URL (its path included,
    for a site served under a prefix)."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc,
        script_name=base.path.rstrip("/") or "/",
        url_scheme=base.scheme or "https",
    )
    return adapter.build(endpoint, values, force_external=True)


def site_host() -> str:
    """The host name of BASE_URL, for identifiers that must be globally unique (event UIDs)."""
    return urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
