"""What an employee is told about their own aftercare, in plain words.

The incident page shows managers the table of steps; an employee who was affected, a witness,
and a reporter who was affected themselves read instead what was done for them and what is
still planned: contact made, conversations held or declined and offered again, referrals, the
police report (by whom, its number, what came of it) and the measures against the perpetrator
that are in force.

Pure on purpose: it only reads the steps it is given and never queries or changes anything,
so a unit test covers every kind of line without a database or a page. Dates come in through
the two formatting functions (the page passes the app's `datetimeformat` and `dateformat`).

What it may say is narrow: only the viewer's own track, plus (for an affected employee, whose
view passes them) the steps about the incident as a whole and the measures from the register
in force that rest on the incident (`Protection`: a kind and an end date). Never the
perpetrator's name, never a measure's reason, never another person's track, and a manager's
note only on the viewer's own steps.

A building ban recorded as an outcome of the "response to the perpetrator" is told from the
register once the register has it (a measure proposed from that step, or carried over from
it): the step's own wording stays only for outcomes the register does not hold.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import ngettext

from incidents.models import AftercareStep, StepStatus
from incidents.rules import FILED, Outcome, StepKind, Subject

CONVERSATIONS = frozenset(
    {
        StepKind.AFTERCARE_CONVERSATION,
        StepKind.FOLLOW_UP_CONVERSATION,
        StepKind.CLOSING_CONVERSATION,
    }
)


@dataclass(frozen=True)
class Line:
    """One sentence for the employee; `note` is a manager's note on their own step (shown
    labelled as such); a planned step has `who` will do it (its owner) and `late` when it is
    past its deadline."""

    text: str
    note: str = ""
    who: str = ""
    late: bool = False


@dataclass(frozen=True)
class YourAftercare:
    """What was done for the employee (in the order it happened) and what is still planned
    (the earliest deadline first)."""

    done: list[Line] = field(default_factory=list)
    planned: list[Line] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.done or self.planned)


@dataclass(frozen=True)
class Protection:
    """A measure from the register that protects the employee: in force today and resting on
    their incident. Only what they may know: its kind (the title in their language, "" when
    the protocol no longer has it) and its last day; `since` places it among the lines."""

    kind: str
    ends_on: date
    since: datetime


Moment = Callable[[datetime], str]
Day = Callable[[date], str]


def your_aftercare(
    steps: Iterable[AftercareStep],
    *,
    viewer_id: int,
    now: datetime,
    today: date,
    moment: Moment,
    day: Day,
    protections: Iterable[Protection] = (),
    registered_steps: Collection[int] = frozenset(),
) -> YourAftercare:
    """The plain-words account of `steps` for the employee `viewer_id`.

    `protections`: the register's measures in force on their incident (the caller passes
    them only to an affected employee); `registered_steps`: the ids of the response steps
    the register holds a measure of, whose building ban the register tells instead.

    Steps of another person's track are left out whatever the caller passes; steps about the
    incident as a whole are told without their notes. `now` and `today` (in the organisation's
    zone) decide what is late and which measures have ended; `moment` and `day` format a
    moment and a date in the viewer's language."""
    # (when, 0 for a step and 1 for a measure of the register, its id or place, the line)
    done: list[tuple[datetime, int, int, Line]] = []
    planned: list[tuple[datetime, int, Line]] = []
    said = _Words(moment, day, today, frozenset(registered_steps))
    for step in steps:
        own = step.subject_user_id == viewer_id
        if not own and not (step.subject == Subject.INCIDENT and step.subject_user_id is None):
            continue  # another person's track: never shown
        if step.status == StepStatus.NOT_REQUIRED:
            continue
        note = (step.note or "").strip() if own else ""
        if step.status == StepStatus.DONE:
            lines = said.done(step)
            when = step.done_at or step.created_at
            for position, text in enumerate(lines):  # the note goes with the last line
                last = position == len(lines) - 1
                done.append((when, 0, step.id, Line(text, note=note if last else "")))
            continue
        text, tried = said.planned(step), said.tried(step)
        if tried:
            when = _last_attempt(step) or step.created_at
            done.append((when, 0, step.id, Line(tried, note="" if text else note)))
        if text:
            who = step.owner.name if step.owner is not None else ""
            line = Line(text, note=note, who=who, late=step.due_at < now)
            planned.append((step.due_at, step.id, line))
    for position, measure in enumerate(sorted(protections, key=lambda p: (p.since, p.ends_on))):
        done.append((measure.since, 1, position, Line(said.protection(measure))))
    return YourAftercare(
        done=[line for *_order, line in sorted(done, key=lambda d: (d[0], d[1], d[2]))],
        planned=[line for _when, _id, line in sorted(planned, key=lambda p: (p[0], p[1]))],
    )


def _last_attempt(step: AftercareStep) -> datetime | None:
    for stamp in reversed(step.attempt_times or []):
        try:
            return datetime.fromisoformat(stamp)
        except ValueError:  # a damaged entry: tell the count without a moment
            continue
    return None


class _Words:
    """The sentences, with the dates formatted for the viewer."""

    def __init__(
        self, moment: Moment, day: Day, today: date, registered: frozenset[int] = frozenset()
    ) -> None:
        self.moment, self.day, self.today = moment, day, today
        self.registered = registered

    def protection(self, measure: Protection) -> str:
        if not measure.kind:
            return _(
                "A measure protects you, in force until %(date)s.", date=self.day(measure.ends_on)
            )
        return _(
            "A measure protects you: %(kind)s, in force until %(date)s.",
            kind=measure.kind,
            date=self.day(measure.ends_on),
        )

    def _when(self, step: AftercareStep) -> str:
        """When a step took place: its recorded date, else when it was recorded."""
        if step.held_on is not None:
            return self.day(step.held_on)
        return self.day(step.done_at.date()) if step.done_at else ""

    @staticmethod
    def _by(step: AftercareStep) -> str:
        return step.done_by.name if step.done_by is not None else _("your manager")

    @staticmethod
    def _conversation(step: AftercareStep) -> str:
        """The conversation a step is about, as it reads inside a sentence."""
        if step.kind == StepKind.FOLLOW_UP_CONVERSATION:
            return _("the follow-up conversation")
        if step.kind == StepKind.CLOSING_CONVERSATION:
            return _("the closing conversation")
        if step.repeat_of_id is not None or step.subject == Subject.WITNESS:
            return _("an aftercare conversation")
        return _("the first aftercare conversation")

    def done(self, step: AftercareStep) -> list[str]:
        outcomes = set(step.outcomes or [])
        when, by = self._when(step), self._by(step)
        if step.kind == StepKind.CONTACT:
            if Outcome.DECLINED in outcomes:
                return [
                    _(
                        "You were contacted on %(date)s by %(name)s; you preferred not to talk then.",
                        name=by,
                        date=when,
                    )
                ]
            return [_("You were contacted on %(date)s by %(name)s.", date=when, name=by)]
        if step.kind in CONVERSATIONS:
            what = self._conversation(step)
            if Outcome.DECLINED in outcomes:
                return [_("You declined %(what)s on %(date)s.", what=what, date=when)]
            return [_("You had %(what)s with %(name)s on %(date)s.", what=what, name=by, date=when)]
        if step.kind == StepKind.REFERRAL_DECISION:
            return self._referrals(step, when)
        if step.kind == StepKind.POLICE_REPORT:
            return self._police(step, when, by)
        if step.kind == StepKind.PERPETRATOR_RESPONSE:
            return self._measures(step)
        if step.kind == StepKind.LABOUR_INSPECTORATE and Outcome.REPORTED in outcomes:
            return [
                _(
                    "The incident was reported to the Netherlands Labour Inspectorate on %(date)s.",
                    date=when,
                )
            ]
        return []  # the team's evaluation and what was not required: nothing for the employee

    def _referrals(self, step: AftercareStep, when: str) -> list[str]:
        said = {
            Outcome.VICTIM_SUPPORT: _(
                "On %(date)s you were referred to Victim Support Netherlands (Slachtofferhulp).",
                date=when,
            ),
            Outcome.SOCIAL_WORK: _(
                "On %(date)s you were referred to company social work.", date=when
            ),
            Outcome.OCCUPATIONAL_PHYSICIAN: _(
                "On %(date)s you were referred to the occupational physician.", date=when
            ),
            Outcome.GP: _("On %(date)s you were advised to see your GP.", date=when),
            Outcome.NONE_NEEDED: _(
                "On %(date)s it was decided that you need no referral for now.", date=when
            ),
            Outcome.DECLINED: _("On %(date)s you declined a referral.", date=when),
        }
        return [said[Outcome(o)] for o in step.outcomes or [] if o in said]

    def _police(self, step: AftercareStep, when: str, by: str) -> list[str]:
        outcomes = set(step.outcomes or [])
        if Outcome.NOT_FILED in outcomes:
            if (step.reason or "").strip():
                return [
                    _(
                        "On %(date)s it was decided not to file a police report. Why: %(reason)s",
                        date=when,
                        reason=(step.reason or "").strip(),
                    )
                ]
            return [_("On %(date)s it was decided not to file a police report.", date=when)]
        if not outcomes & FILED:
            return []
        if Outcome.FILED_BY_EMPLOYER in outcomes:
            lines = [
                _(
                    "Your employer filed a police report, using the employer's address "
                    "(recorded by %(name)s on %(date)s).",
                    name=by,
                    date=when,
                )
            ]
        else:
            lines = [
                _(
                    "The employee filed a police report themselves (recorded by %(name)s on "
                    "%(date)s).",
                    name=by,
                    date=when,
                )
            ]
        if (step.reference or "").strip():
            lines.append(
                _(
                    "The number of the police report is %(number)s.",
                    number=(step.reference or "").strip(),
                )
            )
        if step.evidence_handed_at is not None:
            lines.append(
                _(
                    "Evidence was handed to the police on %(date)s.",
                    date=self.moment(step.evidence_handed_at),
                )
            )
        if step.police_outcome:
            lines.append(
                _("What came of the police report: %(outcome)s", outcome=step.police_outcome)
            )
        else:
            lines.append(_("What comes of the police report is not known yet."))
        return lines

    def _measures(self, step: AftercareStep) -> list[str]:
        outcomes = set(step.outcomes or [])
        if Outcome.NONE in outcomes:
            return [_("No measure was taken against the perpetrator.")]
        lines = []
        if Outcome.WARNING_LETTER in outcomes:
            lines.append(_("The perpetrator was sent a warning letter."))
        if Outcome.CONVERSATION in outcomes:
            lines.append(_("A conversation was held with the perpetrator."))
        ended = step.end_date is not None and (step.measure_expired or step.end_date < self.today)
        if Outcome.BUILDING_BAN in outcomes and step.id in self.registered:
            pass  # the register holds this ban: it tells it (while in force), not the step
        elif Outcome.BUILDING_BAN in outcomes:
            if step.end_date is None:
                lines.append(_("The perpetrator was given a building ban."))
            elif ended:
                lines.append(
                    _(
                        "The perpetrator's building ban ended on %(date)s.",
                        date=self.day(step.end_date),
                    )
                )
            else:
                lines.append(
                    _(
                        "The perpetrator has a building ban, in force until %(date)s.",
                        date=self.day(step.end_date),
                    )
                )
        elif step.end_date is not None and lines:
            lines.append(
                _("These measures ended on %(date)s.", date=self.day(step.end_date))
                if ended
                else _("These measures are in force until %(date)s.", date=self.day(step.end_date))
            )
        return lines

    def tried(self, step: AftercareStep) -> str:
        """Attempts to reach the employee, on an open step of their own."""
        count = len(step.attempt_times or [])
        if not count or step.subject_user_id is None:
            return ""
        last = _last_attempt(step)
        if last is None:
            return ngettext(
                "Your manager tried %(num)s time to reach you, without success so far.",
                "Your manager tried %(num)s times to reach you, without success so far.",
                count,
            )
        return ngettext(
            "Your manager tried %(num)s time to reach you, without success so far (last on "
            "%(date)s).",
            "Your manager tried %(num)s times to reach you, without success so far (last on "
            "%(date)s).",
            count,
            date=self.moment(last),
        )

    def planned(self, step: AftercareStep) -> str:
        due = self.moment(step.due_at)
        if step.kind == StepKind.CONTACT:
            return _("Your manager will contact you before %(due)s.", due=due)
        if step.kind == StepKind.AFTERCARE_CONVERSATION:
            if step.repeat_of_id is not None:
                return _(
                    "Your manager will offer you an aftercare conversation once more, before "
                    "%(due)s.",
                    due=due,
                )
            if step.subject == Subject.WITNESS:
                return _(
                    "Your manager will offer you an aftercare conversation before %(due)s.", due=due
                )
            return _(
                "Your manager will invite you to a first aftercare conversation before %(due)s.",
                due=due,
            )
        if step.kind == StepKind.FOLLOW_UP_CONVERSATION:
            return _(
                "Your manager will hold a follow-up conversation with you before %(due)s.", due=due
            )
        if step.kind == StepKind.REFERRAL_DECISION:
            return _(
                "Your manager will decide with you before %(due)s whether help from outside is "
                "useful: victim support, company social work, the occupational physician or "
                "your GP.",
                due=due,
            )
        if step.kind == StepKind.CLOSING_CONVERSATION:
            return _(
                "Your manager will hold a closing conversation with you before %(due)s; your "
                "aftercare is closed after it.",
                due=due,
            )
        if step.kind == StepKind.POLICE_REPORT:
            return _("A decision on a police report will be made before %(due)s.", due=due)
        if step.kind == StepKind.PERPETRATOR_RESPONSE:
            return _(
                "A response to the perpetrator (a warning letter, a conversation or a building "
                "ban) will be decided before %(due)s.",
                due=due,
            )
        return ""  # the Labour Inspectorate and the team's evaluation are the managers' own
