"""Tables in the browser: on a phone (390 px) every list stacks into cards, each cell under its
column's name, with nothing off screen; at 1280 px every table fits its box, the HR table of
types by level too. axe-core on each page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from incidents import services
from incidents.extensions import db
from incidents.models import Channel, IncidentType, PerpetratorKnown, User
from incidents.services import ReportData
from incidents.services.demo import seed_demo, seed_demo_history
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.helpers import check_page, log_in

pytestmark = pytest.mark.e2e

EMPLOYEE, WITNESS = "employee@demo.test", "witness@demo.test"
MANAGER, ADMIN, HR = "manager@demo.test", "admin@demo.test", "hr@demo.test"

# Every problem of the tables on the page: a table wider than its box, a cell without its
# column's name, a name not shown above its cell (on a phone), a cell past the screen's edge.
TABLE_PROBLEMS = """(phone) => {
  const problems = [];
  for (const wrap of document.querySelectorAll('.table-wrap')) {
    if (wrap.scrollWidth > wrap.clientWidth + 1) {
      problems.push(`table wider than its box: ${wrap.scrollWidth} > ${wrap.clientWidth}`
        + ` (${wrap.getAttribute('aria-label') || wrap.getAttribute('aria-labelledby')})`);
    }
  }
  if (!phone) return problems;
  const tables = document.querySelectorAll('table.stack, table.steps');
  if (!tables.length) problems.push('no stacking table on the page');
  for (const table of tables) {
    if (getComputedStyle(table.querySelector('tbody tr')).display !== 'block') {
      problems.push('rows are not stacked');
    }
    for (const cell of table.querySelectorAll('tbody td, tbody th')) {
      const label = cell.getAttribute('data-label');
      const text = cell.textContent.trim().slice(0, 40);
      if (!label) { problems.push(`a cell without its column's name: ${text}`); continue; }
      const before = getComputedStyle(cell, '::before');
      // `"Name" / ""`: the label shown, and its alternative text (empty: not read twice).
      const [seen, alt] = before.content.split(' / ');
      const shown = seen.replace(/^"|"$/g, '');
      if (alt !== '""') {
        problems.push(`"${label}" is read again in its cell (${before.content})`);
      }
      if (shown !== label || before.display === 'none') {
        problems.push(`"${label}" not shown above "${text}" (${before.content})`);
      }
      const box = cell.getBoundingClientRect();
      if (box.width === 0 || box.left < -0.5 || box.right > window.innerWidth + 0.5) {
        problems.push(`"${label}" off screen: ${box.left}..${box.right}`);
      }
    }
  }
  return problems;
}"""


def assert_tables_fit(page: Any) -> None:
    phone = page.viewport_size["width"] < 768
    problems = page.evaluate(TABLE_PROBLEMS, phone)
    assert not problems, f"{page.url}: " + "; ".join(problems)
    check_page(page)


def user(email: str) -> User:
    found = db.session.scalar(select(User).where(User.email == email))
    assert found is not None
    return found


def report(reporter: User, token: str, **overrides: Any) -> None:
    values: dict[str, Any] = {
        "occurred_at": datetime.now(UTC) - timedelta(hours=2),
        "channel": Channel.COUNTER,
        "types": list(IncidentType),  # every type: the widest cell there is
        "description": "Een klant schreeuwde en gooide een stoel om.",
        "affected_ids": [reporter.id],
        "perpetrator_known": PerpetratorKnown.UNKNOWN,
    }
    values.update(overrides)
    services.save_report(reporter, token, ReportData(**values), submit=True)


@pytest.fixture
def lists(app: Flask) -> None:
    """The demo organisation with incidents in every part a person can have in them."""
    seed_demo()
    employee, witness = user(EMPLOYEE), user(WITNESS)
    report(employee, "tables-e2e-0001", witness_ids=[witness.id])
    report(witness, "tables-e2e-0002", affected_ids=[employee.id, witness.id])
    report(employee, "tables-e2e-0003", types=[IncidentType.VERBAL], weapon=True)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], indirect=True, ids=["phone", "desktop"])
def test_my_incidents_stack_on_a_phone_and_fit_on_a_desktop(page: Any, lists: None) -> None:
    log_in(page, EMPLOYEE)
    page.goto("/incidents")
    rows = page.locator("main table tbody tr")
    assert rows.count() == 3
    parts = sorted(page.locator('td[data-label="Uw rol"]').all_inner_texts())
    # "Door u gemeld, getroffen" once the Dutch catalogue has the separator, never " , ".
    assert len(parts) == 3, parts
    assert re.fullmatch(r"Door u gemeld[,;] getroffen", parts[0]), parts
    assert parts[0] == parts[1]
    assert re.fullmatch(r"Getroffen( · voor u gemeld)?", parts[2]), parts
    assert_tables_fit(page)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], indirect=True, ids=["phone", "desktop"])
def test_the_inbox_stacks_on_a_phone_and_fits_on_a_desktop(page: Any, lists: None) -> None:
    log_in(page, MANAGER)
    page.goto("/aftercare")
    assert page.locator("table.steps tbody tr").count() > 0
    assert_tables_fit(page)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], indirect=True, ids=["phone", "desktop"])
@pytest.mark.parametrize("path", ["/admin/users", "/admin/audit", "/admin/teams"])
def test_admin_lists_stack_on_a_phone_and_fit_on_a_desktop(
    page: Any, lists: None, path: str
) -> None:
    log_in(page, ADMIN)
    page.goto(path)
    assert page.locator("table.stack tbody tr").count() > 0
    assert_tables_fit(page)


@pytest.mark.parametrize("viewport", [DESKTOP], indirect=True, ids=["desktop"])
def test_the_type_by_level_table_fits_at_1280(page: Any, app: Flask) -> None:
    seed_demo()
    now = datetime.now(UTC)
    assert seed_demo_history(now) > 50
    log_in(page, HR)
    page.goto(f"/hr/statistics?period={now.year - 1}&by=type")
    wrap = page.get_by_role("region", name="Incidenten naar soort en niveau")
    sizes = wrap.evaluate("(el) => [el.scrollWidth, el.clientWidth]")
    assert sizes[0] <= sizes[1], f"type by level: scrollWidth {sizes[0]} > {sizes[1]}"
    # Shortened column names still say in full what they are.
    for level in range(1, 5):
        abbr = wrap.locator(f'abbr[title="Niveau {level}"]')
        assert abbr.count() == 1
        # Screen readers read the full name in the header, not the abbreviation.
        header = wrap.get_by_role("columnheader", name=f"Niveau {level}", exact=True)
        assert header.count() == 1
    check_page(page)
