"""Pure tests of the benchmark's bookkeeping (bench/run.py, bench/phone.py, bench/generate.py):
the targets, their RATIO lines and the table. Measuring itself is `make bench`."""

from __future__ import annotations

import math
from typing import Any

import pytest

from bench import generate, phone, run
from bench.servers import Measurement

SMALL, LARGE = 10_000, 1_000_000


def measurement(endpoint: str, p95: float, rps: float = 10.0, size: float = 0.0) -> Measurement:
    return Measurement(
        endpoint=endpoint,
        requests=100,
        failures=0,
        rps=rps,
        p50_ms=p95 / 2,
        p95_ms=p95,
        failure_examples=[],
        others={},
        size_bytes=size,
    )


def rows(**large: Measurement) -> dict[tuple[str, int, str], Measurement]:
    """A full run on sqlite: every endpoint at both sizes, overridden at the large size."""
    made = {}
    for size in (SMALL, LARGE):
        for endpoint in (*run.ENDPOINTS, run.PHONE):
            made[("sqlite", size, endpoint)] = measurement(endpoint, 10.0)
    for endpoint, m in large.items():
        made[("sqlite", LARGE, endpoint)] = m
    return made


def by_name(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in results}


def test_the_issues_targets_are_the_ones_checked() -> None:
    goals = {t.name: t.goal for t in run.TARGETS}
    assert goals == {
        "stats_1m_vs_10k": "<=1.5",
        "inbox_1m_vs_10k": "<=1.5",
        "stats_vs_healthz": "<=8",
        "submit_post_vs_healthz": "<=10",
        "submit_vs_healthz": "(no target)",
        "form_kb_15k": "<=40",
        "phone_form_ms": "<=2000",
        "worker_rss_mb": "<=200",
    }


@pytest.mark.parametrize(
    ("comparison", "value", "expected"),
    [("<=", 1.5, True), ("<=", 1.51, False), (">=", 0.3, True), (">=", 0.29, False), ("", 9, None)],
)
def test_a_target_passes_on_its_side_of_the_limit(
    comparison: str, value: float, expected: bool | None
) -> None:
    limit = 1.5 if comparison == "<=" else 0.3
    assert run.Target("x", comparison, limit, "").passes(value) is expected


def test_ratios_of_a_full_run() -> None:
    measured = rows(
        healthz=measurement("healthz", 5.0, rps=1000.0),
        statistics=measurement("statistics", 30.0),
        submit_post=measurement("submit_post", 60.0),
        submit=measurement("submit", 200.0, rps=20.0),
        form=measurement("form", 50.0, size=15_689.0),
        phone_form=measurement("phone_form", 2600.0),
    )
    found = by_name(run.ratios("sqlite", measured, 180.0, SMALL, LARGE))
    assert found["stats_1m_vs_10k"]["value"] == 3.0
    assert found["stats_vs_healthz"]["value"] == 6.0
    assert found["submit_post_vs_healthz"]["value"] == 12.0
    assert found["submit_post_vs_healthz"]["pass"] is False
    assert found["submit_vs_healthz"]["value"] == 0.02
    assert found["submit_vs_healthz"]["pass"] is None
    assert found["form_kb_15k"]["value"] == 15.689
    assert found["phone_form_ms"]["value"] == 1300.0  # the median: p50 of the loads
    assert found["phone_form_ms"]["pass"] is True
    assert found["worker_rss_mb"]["pass"] is True


def test_a_target_without_its_measurement_is_not_measured() -> None:
    measured = rows()
    del measured[("sqlite", LARGE, run.PHONE)]
    found = by_name(run.ratios("sqlite", measured, 180.0, SMALL, LARGE))
    assert found["phone_form_ms"]["value"] is None
    assert run.verdict(found["phone_form_ms"]) == "RATIO sqlite.phone_form_ms - <=2000 NOT MEASURED"


def test_ratio_lines() -> None:
    measured = rows(submit=measurement("submit", 10.0, rps=5.0))
    found = by_name(run.ratios("sqlite", measured, 250.0, SMALL, LARGE))
    assert run.verdict(found["stats_1m_vs_10k"]) == "RATIO sqlite.stats_1m_vs_10k 1.00 <=1.5 PASS"
    assert run.verdict(found["worker_rss_mb"]) == "RATIO sqlite.worker_rss_mb 250.00 <=200 FAIL"
    assert run.verdict(found["submit_vs_healthz"]) == (
        "RATIO sqlite.submit_vs_healthz 0.50 (no target)"
    )


def test_the_table_shows_sizes_and_no_rate_for_the_phone() -> None:
    lines = run.table(
        [
            {"backend": "sqlite", "size": SMALL, **vars(measurement("form", 80.0, size=15_689))},
            {"backend": "sqlite", "size": SMALL, **vars(measurement(run.PHONE, 2400.0))},
        ]
    ).splitlines()
    assert lines[0].split() == [
        "backend",
        "size",
        "endpoint",
        "p50",
        "ms",
        "p95",
        "ms",
        "req/s",
        "kB",
        "failures",
    ]
    assert lines[2].split() == ["sqlite", "10k", "form", "40.0", "80.0", "10.0", "15.7", "0"]
    assert lines[3].split() == ["sqlite", "10k", "phone_form", "1200.0", "2400.0", "-", "0.0", "0"]


def test_the_phone_result_reports_the_median_and_the_p95() -> None:
    result = phone.PhoneResult(loads=[{"usable_ms": float(ms)} for ms in (1900, 2100, 2000, 5000)])
    assert result.median_ms() == 2050.0
    assert result.p95_ms() == 5000.0
    assert phone.PhoneResult().median_ms() == 0.0


def test_slow_4g_is_the_devtools_preset() -> None:
    # SDK.NetworkManager.Slow4GConditions: bytes per second and ms a request.
    assert phone.SLOW_4G["latency"] == 562.5
    assert math.isclose(float(phone.SLOW_4G["downloadThroughput"]), 180_000)
    assert math.isclose(float(phone.SLOW_4G["uploadThroughput"]), 84_375)


def test_the_incidents_are_shared_out_over_the_kinds_of_team() -> None:
    assert math.isclose(sum(generate.INCIDENT_SHARES.values()), 1.0)
    assert {generate.team_kind(n) for n in ("Counter 01", "Team 09", "Office 001")} == set(
        generate.INCIDENT_SHARES
    )


def test_the_generated_level_reasons_use_the_apps_words_in_each_language(app) -> None:
    # The rows the bench writes carry level reasons in the words the app itself stores.
    from incidents import labels

    with app.app_context():
        words = generate._reason_words()
        assert words == {language: labels.condition_names(language) for language in ("nl", "en")}
    assert words["nl"]["verbal"] != words["en"]["verbal"]
