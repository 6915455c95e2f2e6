"""Did an organisational measure change anything? Its scope before and after it, against the
rest of the organisation over the same windows.

The windows are whole quarters, like every comparison the statistics show: `months` (3 or
12) before the quarter the measure came in, and as many from the first quarter start on or
after its date. A measure dated within a quarter leaves that quarter out (it came in during
it); one dated on a quarter start compares the quarters on either side of it. A measure is
compared only once both windows are published; one dated in the future is announced.

The figures are counts of incidents in the scope (its teams with their sub-teams, through
its channels, at its registered locations: each part left empty is all of it) and in the
rest of the organisation, by window, added to the same `Release` as the organisation's
quarters: each quarter is the scope plus the rest, each window the sum of its quarters. So
they are protected together with every figure the statistics page shows.

The verdict: the ratio of the two rate ratios, (scope after / scope before) divided by
(rest after / rest before), with its exact conditional 95% confidence interval
(`stats.ratio.relative_change`). A trend that happened everywhere is not credited to the
measure. It is computed on the raw counts, but shown only in words, its percentages rounded
to 5, and only when each of the four counts is shown as a number (k or more); otherwise
the page says the numbers are too small to conclude anything. A scope or a rest of the
organisation with fewer than k people throughout the windows is not compared at all.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from incidents.i18n import format_day
from incidents.i18n import lazy_gettext as _l
from incidents.models import OrgMeasure
from incidents.stats import disclosure, figures, queries, ratio
from incidents.stats.periods import COMPARE_MONTHS, Period, add_months, closes_at

ROWS = ("scope", "rest")
COLUMNS = ("before", "after")
CONFIDENCE = 0.95


class State(enum.StrEnum):
    """Why a measure is compared or not."""

    SHOWN = "shown"
    NOT_YET = "not_yet"  # its windows have not both been published
    WHOLE = "whole"  # no scope: no comparison group
    SMALL_SCOPE = "small_scope"  # fewer than k people in the scope
    SMALL_REST = "small_rest"  # fewer than k people in the rest of the organisation
    TOO_EARLY = "too_early"  # the before window starts before 2000


@dataclass(frozen=True)
class Windows:
    before: Period
    after: Period
    left_out: Period | None  # the quarter the measure came in during


def windows(taken_on: date, months: int) -> Windows:
    """The before and after windows of a measure dated `taken_on`, `months` long."""
    quarter = date(taken_on.year, taken_on.month - (taken_on.month - 1) % 3, 1)
    after_start = quarter if taken_on == quarter else add_months(quarter, 3)
    left_out = (
        None if taken_on == quarter else Period.of_quarter(quarter.year, quarter.month // 3 + 1)
    )
    return Windows(
        before=Period("before", add_months(quarter, -months), quarter),
        after=Period("after", after_start, add_months(after_start, months)),
        left_out=left_out,
    )


def ready_at(taken_on: date, months: int) -> datetime:
    """When the comparison can be shown: the after window's last month published."""
    config = current_app.config
    last = add_months(windows(taken_on, months).after.end, -1)
    return closes_at(last, config["ORG_TIMEZONE"], config["STATS_PUBLISH_DELAY_DAYS"])


@dataclass
class Comparison:
    """One measure compared over `months`, as shown."""

    measure: OrgMeasure
    months: int
    windows: Windows
    state: State
    k: int
    ready: datetime
    table: figures.Shown | None = None
    verdict: str = ""
    conclusive: bool = False

    @property
    def shown(self) -> bool:
        return self.state == State.SHOWN


def _teams_in(measure: OrgMeasure) -> frozenset[int]:
    """The measure's teams and every team under them."""
    chosen = {team.id for team in measure.teams}
    if not chosen:
        return frozenset()
    children: dict[int | None, list[int]] = {}
    for team in queries.teams().values():
        children.setdefault(team.parent_id, []).append(team.id)
    found, todo = set(), list(chosen)
    while todo:
        team_id = todo.pop()
        if team_id not in found:
            found.add(team_id)
            todo.extend(children.get(team_id, []))
    return frozenset(found)


def _people_state(teams: frozenset[int], start: datetime, end: datetime, k: int) -> State | None:
    """SMALL_SCOPE or SMALL_REST when either side had fewer than k people at some moment."""
    by_team, begins = queries.memberships(start, end)
    if begins is not None and start < begins < end:
        start = begins
    inside = [i for team, found in by_team.items() if team in teams for i in found]
    outside = [i for team, found in by_team.items() if team not in teams for i in found]
    if teams and disclosure.min_headcount(inside, start, end) < k:
        return State.SMALL_SCOPE
    if teams and disclosure.min_headcount(outside, start, end) < k:
        return State.SMALL_REST
    if not teams and disclosure.min_headcount(inside + outside, start, end) < k:
        return State.SMALL_SCOPE
    return None


def compare(measure: OrgMeasure, months: int, now: datetime) -> Comparison:
    """The measure's comparison over `months` (3 or 12) on either side."""
    if months not in COMPARE_MONTHS:
        months = COMPARE_MONTHS[-1]
    k = figures.current_k()
    found = windows(measure.taken_on, months)
    result = Comparison(measure, months, found, State.SHOWN, k, ready_at(measure.taken_on, months))
    teams = _teams_in(measure)
    channels = frozenset(measure.channels)
    locations = frozenset(location.id for location in measure.locations)
    if found.before.start.year < 2000:
        result.state = State.TOO_EARLY
    elif found.after.end > figures.closed_before(now):
        result.state = State.NOT_YET
    elif not (teams or channels or locations):
        result.state = State.WHOLE
    else:
        zone = current_app.config["ORG_TIMEZONE"]
        start, _end = found.before.bounds(zone)
        _start, end = found.after.bounds(zone)
        result.state = _people_state(teams, start, end, k) or State.SHOWN
    if result.state == State.SHOWN:
        _figures(result, teams, channels, locations)
    return result


def _figures(
    result: Comparison, teams: frozenset[int], channels: frozenset[str], locations: frozenset[int]
) -> None:
    """The four counts, protected with the organisation's figures of the same quarters, and
    the verdict."""
    before, after = result.windows.before, result.windows.after
    builder = figures.Builder([*before.months(), *after.months()])
    keys = {"before": builder.window(before), "after": builder.window(after)}
    counted = queries.in_scope([*before.months(), *after.months()], teams, channels, locations)
    release, name = builder.release, ("org_measure", result.measure.id)
    raw: dict[tuple[str, str], int] = {}
    quarter_raw: dict[tuple[str, str], int] = {}
    by_month = builder.found.months()
    for column, window in (("before", before), ("after", after)):
        quarters = _quarters(window)
        for quarter in quarters:
            scope = sum(counted.get(m, (0, 0))[0] for m in quarter.months())
            total = sum(counted.get(m, (0, 0))[1] for m in quarter.months())
            part: dict[str, Hashable] = {
                "scope": ((quarter.key, name), "scope", None),
                "rest": ((quarter.key, name), "rest", None),
            }
            quarter_raw[(quarter.key, "scope")] = scope
            quarter_raw[(quarter.key, "rest")] = total - scope
            release.add(part["scope"], scope)
            release.add(part["rest"], total - scope)
            # Each quarter is the scope plus the rest (when both count the same incidents,
            # as they do: `in_scope` counts every incident once).
            if total == sum(by_month.get(m, 0) for m in quarter.months()):
                release.partition(
                    (figures.all_of(quarter.key), None, None), [part["scope"], part["rest"]]
                )
        for row in ROWS:
            figure = ((keys[column], name), row, None)
            parts = [((q.key, name), row, None) for q in quarters]
            raw[(row, column)] = sum(quarter_raw[(q.key, row)] for q in quarters)
            release.add(figure, raw[(row, column)])
            if len(parts) > 1:
                release.partition(figure, parts)
    shown = builder.resolve()
    result.table = figures.Shown(
        "org_measure",
        str(_l("Before and after: %(title)s", title=result.measure.title)),
        disclosure.Table(
            rows=ROWS,
            columns=COLUMNS,
            cells={
                (row, column): shown[((keys[column], name), row, None)]
                for row in ROWS
                for column in COLUMNS
            },
            row_totals=None,
            column_totals={c: shown[(figures.all_of(keys[c]), None, None)] for c in COLUMNS},
            total=None,
        ),
        str(_l("Incidents")),
        {
            "scope": str(_l("Where the measure applies")),
            "rest": str(_l("Rest of the organisation")),
        },
        column_labels={
            "before": ngettext("%(num)s month before", "%(num)s months before", result.months),
            "after": ngettext("%(num)s month after", "%(num)s months after", result.months),
        },
        note=_window_note(result.windows),
    )
    cells = [shown[((keys[c], name), r, None)] for r in ROWS for c in COLUMNS]
    if any(cell.value is None for cell in cells):
        result.verdict = _(
            "The numbers are too small to conclude anything: at least one of the four counts is"
            " below %(k)s.",
            k=result.k,
        )
        return
    interval = ratio.relative_change(
        raw[("scope", "before")],
        raw[("scope", "after")],
        raw[("rest", "before")],
        raw[("rest", "after")],
        CONFIDENCE,
    )
    result.verdict, result.conclusive = verdict(interval)


def _quarters(window: Period) -> list[Period]:
    starts = [add_months(window.start, 3 * i) for i in range(len(window.months()) // 3)]
    return [Period.of_quarter(s.year, (s.month + 2) // 3) for s in starts]


def _change(value: float) -> int | None:
    """A ratio as the size of its rounded percentage change (None: unbounded)."""
    percent = ratio.percent(value)
    return abs(percent) if percent is not None else None


def verdict(interval: ratio.Interval) -> tuple[str, bool]:
    """The interval in words, and whether it says anything (it does not cover 1)."""
    what = ratio.conclusion(interval)
    low = _change(interval.low)
    high = _change(interval.high)
    if what == "no_clear_change":
        if high is None:
            bounds = _("anywhere from %(low)s%% fewer to many times more incidents", low=low or 0)
        else:
            bounds = _(
                "anywhere from %(low)s%% fewer to %(high)s%% more incidents",
                low=low or 0,
                high=high,
            )
        return (
            _(
                "No clear change. Compared with the rest of the organisation, the measure's"
                " scope had %(bounds)s (95%% confidence interval): the numbers cannot tell"
                " whether the measure made a difference.",
                bounds=bounds,
            ),
            False,
        )
    estimate = interval.estimate if interval.estimate is not None else interval.low
    middle = _change(estimate)
    if what == "fewer":
        return (
            _(
                "Fewer incidents: compared with the rest of the organisation, about %(middle)s%%"
                " fewer where the measure applies (95%% confidence interval: %(high)s%% to"
                " %(low)s%% fewer).",
                middle=middle or 0,
                low=low if low is not None else 100,
                high=high or 0,
            ),
            True,
        )
    if high is None:
        range_text = _("at least %(low)s%% more", low=low or 0)
    else:
        range_text = _("%(low)s%% to %(high)s%% more", low=low or 0, high=high)
    return (
        _(
            "More incidents: compared with the rest of the organisation, about %(middle)s%% more"
            " where the measure applies (95%% confidence interval: %(range)s).",
            middle=middle if middle is not None else 0,
            range=range_text,
        ),
        True,
    )


def _window_note(found: Windows) -> str:
    before, after = found.before, found.after
    text = _(
        "Before: %(b1)s to %(b2)s; after: %(a1)s to %(a2)s.",
        b1=format_day(before.start, "MMMM yyyy"),
        b2=format_day(add_months(before.end, -1), "MMMM yyyy"),
        a1=format_day(after.start, "MMMM yyyy"),
        a2=format_day(add_months(after.end, -1), "MMMM yyyy"),
    )
    if found.left_out is not None:
        text += " " + _(
            "The quarter the measure came in is left out (%(q1)s to %(q2)s).",
            q1=format_day(found.left_out.start, "MMMM yyyy"),
            q2=format_day(add_months(found.left_out.end, -1), "MMMM yyyy"),
        )
    return text


def method_text(k: int) -> str:
    """How the verdict is reached, for the page and the report."""
    return _(
        "Method: the incidents where the measure applies and in the rest of the organisation, in"
        " equal windows of whole quarters before and after it. The change where it applies is"
        " divided by the change in the rest of the organisation (a ratio of rate ratios), so a"
        " trend that happened everywhere is not credited to the measure. Its 95%% confidence"
        " interval is exact, conditional on the totals (Fisher's method for Poisson counts). It"
        " is computed on the exact counts and shown in words, rounded to 5%%, only when each of the"
        " four counts is at least %(k)s.",
        k=k,
    )


def comparisons(measures: Sequence[OrgMeasure], now: datetime) -> list[Comparison]:
    """Each measure's longest comparison that is published (12 months, else 3), or the
    3-month one when neither is (it says when it will be)."""
    found = []
    for measure in measures:
        chosen = None
        for months in sorted(COMPARE_MONTHS, reverse=True):
            chosen = compare(measure, months, now)
            if chosen.state != State.NOT_YET:
                break
        assert chosen is not None  # noqa: S101 - COMPARE_MONTHS is not empty
        found.append(chosen)
    return found


@dataclass
class ActionFigures:
    """The corrective actions of a year, as the yearly report shows them."""

    created: disclosure.Figure
    overdue: disclosure.Figure
    completed: figures.Shown
    reviewed: figures.Shown


def action_figures(counts: dict[str, int], k: int) -> ActionFigures:
    """A year's corrective actions (`services.actions.year_counts`), protected together: the
    completed ones are those done by their deadline and those done later, the reviewed ones
    those that worked, partly worked and did not."""
    release = disclosure.Release(k)
    for key, n in counts.items():
        release.add(key, n)
    release.add("completed_late", counts["completed"] - counts["completed_on_time"])
    release.partition("completed", ["completed_on_time", "completed_late"])
    results = ("reviewed_worked", "reviewed_partly", "reviewed_did_not_work")
    release.add("reviewed", sum(counts[r] for r in results))
    release.partition("reviewed", list(results))
    shown = release.resolve()
    done = ("completed_on_time", "completed_late")
    return ActionFigures(
        created=shown["created"],
        overdue=shown["open_overdue_at_end"],
        completed=figures.Shown(
            "actions_completed",
            str(_l("Corrective actions completed")),
            disclosure.Series(done, {key: shown[key] for key in done}, shown["completed"]),
            str(_l("Completed")),
            {
                "completed_on_time": str(_l("By their deadline")),
                "completed_late": str(_l("After their deadline")),
            },
            value_label=str(_l("Actions")),
        ),
        reviewed=figures.Shown(
            "actions_reviewed",
            str(_l("Did the actions work?")),
            disclosure.Series(results, {key: shown[key] for key in results}, shown["reviewed"]),
            str(_l("Review")),
            {
                "reviewed_worked": str(_l("It worked")),
                "reviewed_partly": str(_l("In part")),
                "reviewed_did_not_work": str(_l("It did not work")),
            },
            value_label=str(_l("Actions")),
            note=str(_l("Reviewed in the year, some months after they were completed.")),
        ),
    )
