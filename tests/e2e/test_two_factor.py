"""Two-factor sign-in in a real browser: set it up from the QR page (the secret read from the
page, the codes computed with pyotp, as an authenticator app would), log out, log in with a
code, then with a recovery code; an admin's required set-up. Every page is checked with
axe-core and for sideways scrolling, at desktop width and at 390 px.

New texts are matched in English or Dutch, so the tests hold before and after the catalogue
has them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import expect

from incidents.extensions import db
from incidents.models import Role, User
from tests.conftest import PASSWORD
from tests.e2e.helpers import PageChecks, fresh, heading, log_out

pytestmark = pytest.mark.e2e

CODE_LABEL = re.compile(r"Code from your app|Code uit uw app")
RECOVERY_LABEL = re.compile(r"Recovery code|Herstelcode")
RECOVERY_SUMMARY = re.compile(r"Use a recovery code|Gebruik een herstelcode")


def password_step(page: Any, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()


def submit(page: Any, action: str) -> None:
    """The submit button of the form that posts to `action`."""
    page.locator(f"form[action='{action}'] button[type=submit]").click()


def last_step(user: User) -> int:
    fresh()
    account = db.session.get(User, user.id)
    assert account is not None and account.totp_last_step is not None
    return account.totp_last_step


def set_up(page: Any, user: User, checks: PageChecks) -> tuple[pyotp.TOTP, list[str]]:
    """From the footer link to the recovery codes, as the person would."""
    page.locator("footer").get_by_role("link", name=re.compile("Two-factor|Tweestaps")).click()
    expect(page).to_have_url(re.compile(r"/account/two-factor$"))
    checks(page)
    submit(page, "/account/two-factor/start")

    qr = page.locator("img[src='/account/two-factor/qr.svg']")
    expect(qr).to_be_visible()
    # decode() waits until the image has loaded and fails when it cannot be shown.
    assert qr.evaluate("image => image.decode().then(() => image.naturalWidth)") > 0
    checks(page)
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.get_by_label(CODE_LABEL).fill(totp.now())
    submit(page, "/account/two-factor/confirm")

    codes = page.locator("#recovery-codes code")
    expect(codes).to_have_count(10)
    checks(page)
    return totp, codes.all_inner_texts()


def test_set_up_then_log_in_with_a_code_and_with_a_recovery_code(
    page: Any, app: Flask, make_user: Callable[..., User]
) -> None:
    user = make_user(Role.EMPLOYEE, email="eva@example.test")
    checks = PageChecks()
    password_step(page, user.email)
    expect(page).to_have_url(re.compile(r"/$"))

    totp, codes = set_up(page, user, checks)
    page.goto("/account/two-factor")
    expect(page.get_by_label(CODE_LABEL)).to_have_count(0)  # on: no set-up form any more
    checks(page)
    log_out(page)

    password_step(page, user.email)
    expect(page).to_have_url(re.compile(r"/login/two-factor$"))
    checks(page)
    page.goto("/account/sessions")  # skipping the second step: not logged in
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.goto("/login/two-factor")
    # The code of the step after the one used to confirm: accepted as long as the server's
    # clock is within one step of it, and never the code already used.
    page.get_by_label(CODE_LABEL).fill(totp.generate_otp(last_step(user) + 1))
    page.locator("form:has(#code) button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/$"))
    log_out(page)

    password_step(page, user.email)
    page.get_by_text(RECOVERY_SUMMARY).click()  # <details>: no script needed
    page.get_by_label(RECOVERY_LABEL).fill(codes[3])
    checks(page)
    page.locator("form:has(#recovery_code) button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("main").get_by_role("status")).to_contain_text("9")
    log_out(page)

    password_step(page, user.email)  # the same recovery code again
    page.get_by_text(RECOVERY_SUMMARY).click()
    page.get_by_label(RECOVERY_LABEL).fill(codes[3])
    page.locator("form:has(#recovery_code) button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/login/two-factor$"))
    expect(page.locator("#recovery_code-error")).to_be_visible()
    checks(page)
    checks.done()


def test_a_wrong_code_is_shown_next_to_the_field(
    page: Any, app: Flask, make_user: Callable[..., User]
) -> None:
    user = make_user(Role.EMPLOYEE)
    checks = PageChecks()
    password_step(page, user.email)
    totp, _codes = set_up(page, user, checks)
    log_out(page)
    password_step(page, user.email)
    right = {totp.generate_otp(last_step(user) + n) for n in range(-2, 4)}
    page.get_by_label(CODE_LABEL).fill(
        next(f"{n:06d}" for n in range(10**6) if f"{n:06d}" not in right)
    )
    page.locator("form:has(#code) button[type=submit]").click()
    expect(page.locator("#code-error")).to_be_visible()
    expect(page.get_by_label(CODE_LABEL)).to_have_attribute("aria-invalid", "true")
    checks(page)
    checks.done()


def test_a_required_admin_is_sent_to_set_it_up(
    page: Any, app: Flask, make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "TWO_FACTOR_ROLES", ("admin", "hr", "manager"))
    admin = make_user(Role.ADMIN)
    checks = PageChecks()
    password_step(page, admin.email)
    expect(page).to_have_url(re.compile(r"/account/two-factor$"))
    expect(heading(page)).to_have_text(re.compile("Two-factor sign-in|Tweestapsverificatie"))
    checks(page)
    page.goto("/admin/users")
    expect(page).to_have_url(re.compile(r"/account/two-factor$"))
    set_up(page, admin, checks)
    page.goto("/admin/users")
    expect(page).to_have_url(re.compile(r"/admin/users$"))
    checks.done()
