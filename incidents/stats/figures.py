"""The statistics as HR sees them: aggregate queries put through disclosure control.

Everything a page, a CSV file or the yearly report shows comes from `build`, so the three can
never disagree, and nothing raw leaves this module."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from incidents.labels import CHANNEL_LABELS, OUTCOME_LABELS, TYPE_LABELS
from incidents.models import Channel, IncidentType
from incidents.rules import StepKind
from incidents.services.aftercare import OUTCOMES
from incidents.stats import disclosure, queries
from incidents.stats.queries import Period

# The breakdowns HR may choose, besides the level: deliberately few (differencing).
DIMENSIONS = {
    "type": _l("Type"),
    "channel": _l("Channel"),
    "team": _l("Team or department"),
}
LEVELS = ("1", "2", "3", "4")
# The outcomes counted are those a step of the kind can record.
POLICE = OUTCOMES[StepKind.POLICE_REPORT.value]
REFERRALS = OUTCOMES[StepKind.REFERRAL_DECISION.value]
SMALL_UNITS = "other"


@dataclass
class Shown:
    """One table as shown: its data after disclosure control, and how to label it."""

    name: str
    title: str
    data: disclosure.Table | disclosure.Series
    row_label: str
    row_labels: dict[str, str]
    column_labels: dict[str, str] = field(default_factory=dict)
    value_label: str = ""
    chart: str = "bar"
    note: str = ""

    def csv_rows(self, k: int) -> list[list[str]]:
        total = str(_l("Total"))
        if isinstance(self.data, disclosure.Table):
            return self.data.csv_rows(
                k,
                self.row_label,
                column_labels=self.column_labels,
                row_labels=self.row_labels,
                total_label=total,
            )
        return self.data.csv_rows(
            k, self.row_label, self.value_label, labels=self.row_labels, total_label=total
        )


@dataclass
class Statistics:
    period: Period
    by: str
    k: int
    total: disclosure.Figure
    rate: disclosure.Figure
    conversations: int
    on_time: disclosure.Figure
    first_contact: disclosure.Figure
    tables: list[Shown]

    def table(self, name: str) -> Shown | None:
        return next((t for t in self.tables if t.name == name), None)


def _language() -> str:
    locale = get_locale()
    return locale.language if locale else "nl"


def _units() -> tuple[dict[str, int], dict[str, str]]:
    """Teams with fewer than k members are counted with their department; returns the
    reporting unit of each team and the units' names."""
    k = current_app.config["STATS_MIN_CELL"]
    sizes, parents, teams = queries.units()
    merged = disclosure.merge_small_units(sizes, parents, k)
    unit_size: dict[int, int] = {}
    for team_id, unit in merged.items():
        unit_size[unit] = unit_size.get(unit, 0) + sizes.get(team_id, 0)
    reporting = {
        str(team_id): (unit if unit_size.get(unit, 0) >= k else -1)
        for team_id, unit in merged.items()
    }
    language = _language()
    labels = {
        str(unit): teams[unit].name(language) for unit in set(merged.values()) if unit in teams
    }
    labels[SMALL_UNITS] = str(_l("Small units together"))
    labels["none"] = str(_l("No team"))
    return reporting, labels


COMPARE_MONTHS = (3, 6, 12)


def _add_months(start: date, months: int) -> date:
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def comparison(change: date, months: int) -> tuple[Shown, disclosure.Figure, disclosure.Figure]:
    """Before and after a change (cameras off, alarm buttons on): the level mix in equal,
    whole-month periods on either side, and the rates per 1,000 client conversations."""
    k = current_app.config["STATS_MIN_CELL"]
    before = Period("before", _add_months(change, -months), change)
    after = Period("after", change, _add_months(change, months))
    raw: dict[tuple[str, str], int] = {}
    totals: dict[str, int] = {}
    for name, period in (("before", before), ("after", after)):
        found = queries.counts(period, ["channel"])
        for level, n in found.levels().items():
            raw[(level, name)] = n
        totals[name] = found.total()
    rates = []
    for name, period in (("before", before), ("after", after)):
        denominator = sum(queries.conversations(period.start, period.end).values())
        rates.append(disclosure.rate(totals[name], denominator or None, k))
    level_labels = {lvl: str(_l("Level %(level)s", level=lvl)) for lvl in LEVELS}
    shown = Shown(
        "compare",
        str(_l("Before and after %(date)s", date=change.isoformat()[:7])),
        disclosure.table(raw, LEVELS, ("before", "after"), k),
        str(_l("Level")),
        level_labels,
        column_labels={
            "before": str(_l("%(months)s months before", months=months)),
            "after": str(_l("%(months)s months after", months=months)),
        },
    )
    return shown, rates[0], rates[1]


def build(period: Period, by: str, now: datetime) -> Statistics:
    """All figures for a period, broken down `by` a dimension and by level."""
    k = current_app.config["STATS_MIN_CELL"]
    zone = current_app.config["ORG_TIMEZONE"]
    level_labels = {lvl: str(_l("Level %(level)s", level=lvl)) for lvl in LEVELS}

    # The breakdowns not chosen are not read ("channel" always is: totals, levels, months).
    found = queries.counts(
        period, [m for m in queries.MEASURES if m not in ("team", "type") or m == by]
    )
    raw = found.by(by)
    if by == "team":
        mapping, unit_labels = _units()
        merged_raw: dict[tuple[str, str], int] = {}
        for (team, level), n in raw.items():
            unit = mapping.get(team, -1) if team != "none" else None
            key = "none" if unit is None else (SMALL_UNITS if unit == -1 else str(unit))
            merged_raw[(key, level)] = merged_raw.get((key, level), 0) + n
        raw = merged_raw
        rows = sorted({key for key, _ in raw}, key=lambda key: unit_labels.get(key, key))
        row_labels = {key: unit_labels.get(key, key) for key in rows}
    elif by == "type":
        rows = [t.value for t in IncidentType]
        row_labels = {t.value: str(label) for t, label in TYPE_LABELS.items()}
    else:
        rows = [c.value for c in Channel]
        row_labels = {c.value: str(label) for c, label in CHANNEL_LABELS.items()}
    cross = disclosure.table(raw, rows, LEVELS, k)

    total_raw = found.total()
    total = disclosure.count(total_raw, k)
    levels_raw = found.levels()
    months_raw = found.months
    police_raw = found.outcomes("police_report", POLICE)
    referral_raw = found.outcomes("referral_decision", REFERRALS)
    police_known = found.one("police_known")
    in_time, due = queries.on_time(period, found, now, zone)
    contacts, median_hours = found.first_contact()
    conversations = queries.conversations(period.start, period.end)
    channels_raw: dict[str, int] = {}
    for (key, _), n in found.by("channel").items():
        channels_raw[key] = channels_raw.get(key, 0) + n
    conversation_total = sum(conversations.values())

    rate_rows = [c.value for c in Channel if conversations.get(c.value)]
    rates = disclosure.Series(
        keys=tuple(rate_rows),
        figures={
            c: disclosure.rate(channels_raw.get(c, 0), conversations.get(c), k) for c in rate_rows
        },
        total=disclosure.rate(total_raw, conversation_total or None, k),
    )
    outcome_labels = {key: str(label) for key, label in OUTCOME_LABELS.items()}
    tables = [
        Shown(
            "cross",
            str(_l("Incidents by %(dimension)s and level", dimension=str(DIMENSIONS[by]).lower())),
            cross,
            str(DIMENSIONS[by]),
            row_labels,
            column_labels=level_labels,
            note=str(_l("An incident can have several types: then it counts once for each."))
            if by == "type"
            else "",
        ),
        Shown(
            "levels",
            str(_l("Incidents by level")),
            disclosure.series(levels_raw, LEVELS, k),
            str(_l("Level")),
            level_labels,
            value_label=str(_l("Incidents")),
        ),
        Shown(
            "months",
            str(_l("Incidents per month")),
            disclosure.series(months_raw, period.months(), k),
            str(_l("Month")),
            {m: m for m in period.months()},
            value_label=str(_l("Incidents")),
            chart="line",
        ),
        Shown(
            "police",
            str(_l("Police reports")),
            disclosure.series(
                {**{o: police_raw[o] for o in POLICE}, "outcome_known": police_known},
                [*POLICE, "outcome_known"],
                k,
            ),
            str(_l("Decision")),
            {**{o: outcome_labels[o] for o in POLICE}, "outcome_known": str(_l("Outcome known"))},
            value_label=str(_l("Incidents")),
            note=str(_l("Decided police-report steps; the total counts each decision once.")),
        ),
        Shown(
            "referrals",
            str(_l("Referrals")),
            disclosure.series({o: referral_raw[o] for o in REFERRALS}, REFERRALS, k),
            str(_l("Referral")),
            {o: outcome_labels[o] for o in REFERRALS},
            value_label=str(_l("Decisions")),
            note=str(_l("One decision can refer to several kinds of help.")),
        ),
        Shown(
            "rates",
            str(_l("Incidents per 1,000 client conversations")),
            rates,
            str(_l("Channel")),
            {c.value: str(label) for c, label in CHANNEL_LABELS.items()},
            value_label=str(_l("Per 1,000 conversations")),
            note=str(_l("Only where client conversations were registered for the period.")),
        ),
    ]
    return Statistics(
        period=period,
        by=by,
        k=k,
        total=total,
        rate=disclosure.rate(total_raw, conversation_total or None, k),
        conversations=conversation_total,
        on_time=disclosure.share(in_time, due, k),
        first_contact=disclosure.median_of(contacts, median_hours, k),
        tables=tables,
    )
