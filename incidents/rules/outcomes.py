"""The outcome rules of a step, checked: pure, so one table of cases covers every kind."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from incidents.rules.protocol import Field, Outcome, OutcomeRules

OUTCOMES_KEY = "outcomes"
"""The key of a problem with the chosen outcomes themselves; other keys are `Field` values."""


class Problem(enum.StrEnum):
    """What is wrong with a recorded outcome, per form field."""

    MISSING = "missing"  # no outcome chosen, or a needed field left empty
    UNKNOWN = "unknown"  # an outcome that a step of this kind does not offer
    NOT_COMBINABLE = "not_combinable"  # more than one where only one may be chosen
    NOT_AFTER_TODAY = "not_after_today"  # a needed end date must lie after today


@dataclass(frozen=True)
class Recorded:
    """What a manager filled in beside the outcomes."""

    held_on: date | None = None
    reference: str = ""
    end_date: date | None = None
    citizen_heard: bool = False
    reason: str = ""

    def has(self, field: Field) -> bool:
        """True when `field` was filled in (blank text counts as empty)."""
        value = getattr(self, field.value)
        return bool(value.strip()) if isinstance(value, str) else bool(value)


def check_outcome(
    rules: OutcomeRules, chosen: Sequence[str], recorded: Recorded, today: date
) -> dict[str, Problem]:
    """The problems of recording `chosen` with `recorded` on a step under `rules`, by key.

    Nothing chosen, an outcome the kind does not offer, or a combination the rules forbid is a
    problem of the outcomes; then each field the chosen outcomes need must be filled in, and a
    needed end date must lie after `today`. An empty result means the outcome may be saved.
    """
    if not chosen:
        return {OUTCOMES_KEY: Problem.MISSING}
    offered = {outcome.value for outcome in rules.choose}
    if any(outcome not in offered for outcome in chosen):
        return {OUTCOMES_KEY: Problem.UNKNOWN}
    picked = frozenset(Outcome(outcome) for outcome in chosen)
    if len(picked) > 1 and (not rules.multiple or picked & rules.exclusive):
        return {OUTCOMES_KEY: Problem.NOT_COMBINABLE}
    problems: dict[str, Problem] = {}
    for field in rules.fields:  # in form order
        if field not in rules.needed(picked):
            continue
        if not recorded.has(field):
            problems[field.value] = Problem.MISSING
        elif field is Field.END_DATE and recorded.end_date and recorded.end_date <= today:
            problems[field.value] = Problem.NOT_AFTER_TODAY
    return problems
