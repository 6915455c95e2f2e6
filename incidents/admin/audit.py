"""The audit trail: search, filter and export (admin as privacy officer).

Read only: there is no route that changes or removes an entry. Every entry is shown in words
(`incidents.audit_labels`); reading and exporting the trail are entries themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app, render_template, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from incidents.admin import bp
from incidents.audit_labels import Described, Lookups, action_choices, describe, object_choices
from incidents.bounds import INT_MAX, parse_int
from incidents.csvsafe import csv_text
from incidents.forms import strip_filter
from incidents.i18n import lazy_gettext as _l
from incidents.models import AuditAction, AuditEvent, Role, utcnow
from incidents.security import roles
from incidents.services import audit_log, numbers
from incidents.services.audit_log import AuditFilter

PAGE_SIZE = 50
EXPORT_PAGE_SIZE = 1000  # entries read and written at a time by the CSV export
ANY = ""  # the "no restriction" choice in select fields
FIRST_YEAR, LAST_YEAR = 2000, 2999
ACTOR_MAX = 100
# A failed sign-in has no actor yet: "not logged in" rather than "system".
ANONYMOUS_ACTIONS = frozenset(
    {
        AuditAction.AUTH_LOGIN_FAILED,
        AuditAction.AUTH_OIDC_REFUSED,
        AuditAction.AUTH_TWO_FACTOR_FAILED,
    }
)


class AuditFilterForm(FlaskForm):
    """The search form: a GET form that changes nothing, so it needs no CSRF token."""

    class Meta:
        csrf = False

    actor = StringField(
        _l("Who"),
        validators=[Optional(), Length(max=ACTOR_MAX)],
        filters=[strip_filter],
        description=_l("Part of a name or e-mail address."),
    )
    action = SelectField(_l("What"), validators=[Optional()])
    object_type = SelectField(_l("Object type"), validators=[Optional()])
    object_id = IntegerField(
        _l("Object id"), validators=[Optional(), NumberRange(min=1, max=INT_MAX)]
    )
    incident = StringField(
        _l("Incident number"),
        validators=[Optional()],
        filters=[strip_filter],
        description=_l("For example 2026-0142: the incident and its aftercare steps."),
    )
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])

    def __init__(self) -> None:
        super().__init__(formdata=request.args)
        # Grouped (an optgroup each); WTForms puts every choice in a group, "all" too.
        self.action.choices = {_("All"): [(ANY, _("All actions"))], **dict(action_choices())}
        self.object_type.choices = [(ANY, _("All")), *object_choices()]
        self.incident_id: int | None = None
        self._criteria: AuditFilter | None = None

    def validate_incident(self, field: StringField) -> None:
        if not field.data:
            return
        number = numbers.parse(field.data)
        if number is None:
            raise ValidationError(_l("Write an incident number such as 2026-0142."))
        found = numbers.incident_numbered(number)
        self.incident_id = found.id if found else None
        if self.incident_id is None:
            raise ValidationError(_l("No incident has the number %(number)s.", number=number))

    def validate_since(self, field: DateField) -> None:
        _plausible(field.data)

    def validate_until(self, field: DateField) -> None:
        _plausible(field.data)
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end of the period lies before its start."))

    def criteria(self) -> AuditFilter:
        """The valid filters; a field with an error restricts nothing (its message says so)."""
        if self._criteria is None:
            self._criteria = self._validated()
        return self._criteria

    def _validated(self) -> AuditFilter:
        self.validate()

        def valid(name: str) -> object:
            field = self[name]
            return None if field.errors or field.data in (None, ANY) else field.data

        since, until = valid("since"), valid("until")
        return AuditFilter(
            actor=_text(valid("actor")),
            object_type=_text(valid("object_type")),
            object_id=_number(valid("object_id")),
            action=_text(valid("action")),
            since=_start_of(since) if isinstance(since, date) else None,
            until=_start_of(until + timedelta(days=1)) if isinstance(until, date) else None,
            incident_id=None if self.incident.errors else self.incident_id,
        )

    def used(self) -> dict[str, object]:
        """The valid filters as the export's audit entry records them."""
        criteria = self.criteria()
        used: dict[str, object] = {
            "who": criteria.actor,
            "actions": criteria.action,
            "object_type": criteria.object_type,
            "object_id": criteria.object_id,
            "incident": criteria.incident_id,
            "since": self.since.data.isoformat() if criteria.since and self.since.data else None,
            "until": self.until.data.isoformat() if criteria.until and self.until.data else None,
        }
        return {key: value for key, value in used.items() if value is not None}


def _plausible(day: date | None) -> None:
    # Far-off years would overflow when converted to UTC, and hold no entries anyway.
    if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError(
            _l("Choose a date between %(first)s and %(last)s.", first=FIRST_YEAR, last=LAST_YEAR)
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _start_of(day: date) -> datetime:
    """Midnight at the start of `day` in the organisation's time zone."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(current_app.config["ORG_TIMEZONE"]))


def _before() -> int | None:
    """The page before: any entry's id (admins may see every entry); None for the newest."""
    return parse_int(request.args.get("before", "")) or None


def _locale() -> str:
    locale = get_locale()
    return locale.language if locale else "nl"


def _who(event: AuditEvent) -> str:
    if event.actor is not None:
        return event.actor.name
    return _("not logged in") if event.action in ANONYMOUS_ACTIONS else _("system")


def _described(events: list[AuditEvent], lookups: Lookups) -> list[Described]:
    return [describe(e.action, e.object_type, e.object_id, e.details, lookups) for e in events]


@bp.route("/audit")
@roles(Role.ADMIN)
def audit() -> ResponseReturnValue:
    """The audit trail, newest first, 50 entries a page; filters in the query string."""
    form = AuditFilterForm()
    before = _before()
    events = list(audit_log.search(form.criteria(), before, PAGE_SIZE + 1))
    filters: dict[str, Any] = {k: v for k, v in request.args.items() if k != "before" and v}
    older = None
    if len(events) > PAGE_SIZE:
        events = events[:PAGE_SIZE]
        older = url_for("admin.audit", **filters, before=events[-1].id)
    newest = url_for("admin.audit", **filters)
    lookups = audit_log.lookups(events, _locale())
    page = render_template(
        "admin/audit.html",
        form=form,
        rows=[(e, _who(e), d) for e, d in zip(events, _described(events, lookups), strict=True)],
        older=older,
        newest=newest if before is not None else None,
        export=url_for("admin.audit_csv", **filters),
    )
    # Reading the trail shows who looked at which incident: that reading is recorded too.
    audit_log.record_view(current_user, AuditAction.AUDIT_VIEW, None)
    return page


def _csv_header() -> list[str]:
    return [
        _("Time"),
        _("Who"),
        _("E-mail address"),
        _("What"),
        _("Action code"),
        _("About"),
        _("Object type"),
        _("Object id"),
        _("Incident number"),
        _("Address"),
        _("Details"),
    ]


def _csv_rows(events: list[AuditEvent], zone: ZoneInfo, locale: str) -> list[list[object]]:
    lookups = audit_log.lookups(events, locale)
    rows: list[list[object]] = []
    for event, words in zip(events, _described(events, lookups), strict=True):
        incident = None
        if event.object_type == audit_log.INCIDENT and event.object_id is not None:
            incident = event.object_id
        elif event.object_type == audit_log.STEP and event.object_id is not None:
            incident = lookups.step_incidents.get(event.object_id)
        rows.append(
            [
                event.at.astimezone(zone).isoformat(timespec="seconds"),
                _who(event),
                event.actor.email if event.actor else "",
                words.what,
                event.action,
                words.about,
                event.object_type,
                event.object_id,
                lookups.incident_numbers.get(incident) if incident is not None else None,
                event.address,
                "; ".join(words.details),
            ]
        )
    return rows


@bp.route("/audit.csv")
@roles(Role.ADMIN)
def audit_csv() -> ResponseReturnValue:
    """The filtered trail as a CSV file, newest first: every matching entry written before
    this export (the export's own entry records who exported it, with which filters)."""
    form = AuditFilterForm()
    criteria = form.criteria()
    below = audit_log.record_audit_export(current_user, **form.used())
    zone = ZoneInfo(current_app.config["ORG_TIMEZONE"])
    locale = _locale()

    def lines() -> Iterator[str]:
        yield csv_text([_csv_header()])
        for events in audit_log.export_pages(criteria, below, EXPORT_PAGE_SIZE):
            yield csv_text(_csv_rows(events, zone, locale))

    stamp = utcnow().astimezone(zone).strftime("%Y%m%d-%H%M")
    return Response(
        stream_with_context(lines()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-trail-{stamp}.csv"'},
    )
