"""Readable incident numbers: given at submission, one per incident, never twice, in order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from incidents import services
from incidents.extensions import db
from incidents.models import Incident, IncidentNumber, User
from incidents.services import ReportData
from incidents.services.numbers import format_number, parse
from tests.web.test_races import org, race, report  # noqa: F401 (fixture)


def test_a_number_is_the_year_and_its_place_in_the_year():
    assert format_number(2026, 142) == "2026-0142"
    assert format_number(2026, 12345) == "2026-12345"


def test_what_people_type_finds_the_number():
    for typed in ("2026-0142", "2026-142", " 2026 142 ", "2026/0142", "#2026-0142", "2026.142"):
        assert parse(typed) == "2026-0142", typed
    for typed in (
        "",
        "142",
        "2026",
        "2026-0",
        "20260142",
        "abc-0142",
        "2026-01x",
        "2026--1",
        "\uff12\uff10\uff12\uff16-\uff11",
    ):
        assert parse(typed) is None, typed


def test_submitting_gives_the_next_number_and_a_draft_has_none(app, org):  # noqa: F811
    now = datetime.now(UTC)
    year = now.year
    first = report(org, "number-first-padded-token", now - timedelta(hours=1))
    second = report(org, "number-second-padded-token", now - timedelta(hours=1))
    assert (first.number, second.number) == (f"{year}-0001", f"{year}-0002")
    draft = services.save_report(
        org["victim"],
        "number-draft-padded-token",
        ReportData(description="Not finished yet."),
        submit=False,
    )
    assert draft.number is None
    # Submitting the draft later gives it the next number; a double submit keeps it.
    data = ReportData(
        occurred_at=now - timedelta(hours=2),
        channel=second.channel,
        types=second.types,
        description="Finished now.",
        affected_ids=[org["victim"].id],
    )
    done = services.save_report(org["victim"], "number-draft-padded-token", data, submit=True)
    again = services.save_report(org["victim"], "number-draft-padded-token", data, submit=True)
    assert done.number == again.number == f"{year}-0003"


def test_the_count_starts_again_each_year_in_the_organisations_time_zone(app, org):  # noqa: F811
    # 31 December 23:30 UTC is already 1 January in Amsterdam.
    with time_machine.travel(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), tick=False):
        incident = report(
            org, "number-new-year-padded-token", datetime(2026, 12, 31, 23, tzinfo=UTC)
        )
    assert incident.number == "2027-0001"
    with time_machine.travel(datetime(2026, 12, 31, 12, tzinfo=UTC), tick=False):
        older = report(org, "number-old-year-padded-token", datetime(2026, 12, 31, 11, tzinfo=UTC))
    assert older.number == "2026-0001"


def test_a_refused_or_failed_submission_uses_no_number(app, org, monkeypatch):  # noqa: F811
    now = datetime.now(UTC)
    report(org, "number-before-padded-token", now - timedelta(hours=1))
    with pytest.raises(services.InvalidInput):
        services.save_report(
            org["victim"], "number-refused-padded-token", ReportData(), submit=True
        )

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the disk is full")

    # A failure after the number was taken: the whole transaction, number included, rolls back.
    with monkeypatch.context() as patch:
        patch.setattr(services.aftercare, "apply_protocol", broken)
        with pytest.raises(RuntimeError):
            report(org, "number-failed-padded-token", now - timedelta(hours=1))
    db.session.rollback()
    assert services.incident_by_token("number-failed-padded-token") is None
    after = report(org, "number-after-padded-token", now - timedelta(hours=1))
    assert after.number == f"{now.year}-0002"


def submitter(ids: dict[str, int], token: str) -> Callable[[Callable[[], None]], str | None]:
    def job(wait: Callable[[], None]) -> str | None:
        people = {name: db.session.get_one(User, id_) for name, id_ in ids.items()}
        wait()
        return report(people, token, datetime.now(UTC) - timedelta(hours=1)).number

    return job


def test_submissions_at_the_same_moment_never_share_a_number(app, org):  # noqa: F811
    """Four threads submit at once, five times: twenty numbers, all different, 1 to 20."""
    year = datetime.now(UTC).year
    ids = {name: user.id for name, user in org.items()}
    numbers: list[str | None] = []
    for round_ in range(5):
        numbers += race(
            app, *(submitter(ids, f"number-race-{round_}-{i}-padded-token") for i in range(4))
        )
    assert all(isinstance(n, str) for n in numbers), numbers
    assert sorted(numbers) == [f"{year}-{n:04d}" for n in range(1, 21)]  # type: ignore[type-var]
    stored = db.session.scalars(select(Incident.number).where(Incident.number.is_not(None))).all()
    assert sorted(stored) == sorted(numbers)  # type: ignore[type-var]
    assert db.session.get_one(IncidentNumber, year).last == 20
