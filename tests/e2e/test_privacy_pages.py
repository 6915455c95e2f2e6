"""The privacy pages and the remaining HR and manager pages in the browser: axe-core finds
nothing serious and nothing scrolls sideways, at desktop and phone width."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from incidents.services.demo import seed_demo
from tests.e2e.helpers import check_page, heading, log_in, log_out

PAGES = {
    "admin@demo.test": [
        ("/admin/audit", "Logboek"),
        ("/admin/audit?action=auth.*", "Logboek"),
        ("/admin/legal-holds", "Juridische blokkades"),
        ("/admin/privacy", "Privacyoverzicht"),
        ("/admin/aftercare-owners", "Eigenaren van nazorg"),
        ("/admin/mail", "Uitgaande mail"),
        ("/account/data", "Mijn gegevens"),
    ],
    "employee@demo.test": [
        ("/account/data", "Mijn gegevens"),
        ("/account/sessions", "Mijn sessies"),
    ],
    "hr@demo.test": [
        ("/hr/conversations", "Klantgesprekken"),
        ("/incidents/new", "Meld een incident"),  # HR reports what happened to them, like anyone
    ],
    "manager@demo.test": [("/aftercare", "Nazorg-inbox")],
}


@pytest.fixture
def demo(app: Flask) -> None:
    seed_demo()


def test_privacy_and_remaining_pages_are_accessible(page: Any, demo: None) -> None:
    for email, pages in PAGES.items():
        log_in(page, email)
        for url, title in pages:
            page.goto(url)
            expect(heading(page)).to_contain_text(title)
            check_page(page)
        log_out(page)
