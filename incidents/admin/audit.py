"""The audit trail: search and filter (admin as privacy officer).

Read only: there is no route that changes or removes an entry.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, IntegerField, SelectField
from wtforms.validators import NumberRange, Optional, ValidationError

from incidents.admin import bp
from incidents.bounds import INT_MAX, parse_int
from incidents.extensions import db
from incidents.i18n import lazy_gettext as _l
from incidents.models import AuditAction, Role, User
from incidents.security import roles
from incidents.services import audit_log
from incidents.services.audit_log import AuditFilter

PAGE_SIZE = 50
ANY = ""  # the "no restriction" choice in select fields
FIRST_YEAR, LAST_YEAR = 2000, 2999


class AuditFilterForm(FlaskForm):
    """The search form: a GET form that changes nothing, so it needs no CSRF token."""

    class Meta:
        csrf = False

    person = SelectField(_l("Person"), validators=[Optional()])
    object_type = SelectField(_l("Object type"), validators=[Optional()])
    object_id = IntegerField(
        _l("Object number"), validators=[Optional(), NumberRange(min=1, max=INT_MAX)]
    )
    action = SelectField(_l("Action"), validators=[Optional()])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])

    def __init__(self) -> None:
        super().__init__(formdata=request.args)
        people = db.session.scalars(select(User).order_by(User.name, User.id)).all()
        self.person.choices = [
            (ANY, _l("Everyone")),
            *[(str(u.id), f"{u.name} ({u.email})") for u in people],
        ]
        self.object_type.choices = [(ANY, _l("All")), *[(t, t) for t in audit_log.object_types()]]
        self.action.choices = [(ANY, _l("All")), *[(a, a) for a in audit_log.actions()]]

    def validate_since(self, field: DateField) -> None:
        _plausible(field.data)

    def validate_until(self, field: DateField) -> None:
        _plausible(field.data)
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end of the period lies before its start."))

    def criteria(self) -> AuditFilter:
        """The valid filters; a field with an error restricts nothing (its message says so)."""
        self.validate()

        def valid(name: str) -> object:
            field = self[name]
            return None if field.errors or field.data in (None, ANY) else field.data

        person, since, until = valid("person"), valid("since"), valid("until")
        return AuditFilter(
            actor_id=int(str(person)) if person is not None else None,
            object_type=_text(valid("object_type")),
            object_id=_number(valid("object_id")),
            action=_text(valid("action")),
            since=_start_of(since) if isinstance(since, date) else None,
            until=_start_of(until + timedelta(days=1)) if isinstance(until, date) else None,
        )


def _plausible(day: date | None) -> None:
    # Far-off years would overflow when converted to UTC, and hold no entries anyway.
    if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError(
            _l("Choose a date between %(first)s and %(last)s.", first=FIRST_YEAR, last=LAST_YEAR)
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _start_of(day: date) -> datetime:
    """Midnight at the start of `day` in the organisation's time zone."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(current_app.config["ORG_TIMEZONE"]))


def _before() -> int | None:
    """The page before: any entry's id (admins may see every entry); None for the newest."""
    return parse_int(request.args.get("before", "")) or None


@bp.route("/audit")
@roles(Role.ADMIN)
def audit() -> ResponseReturnValue:
    """The audit trail, newest first, 50 entries a page; filters in the query string."""
    form = AuditFilterForm()
    before = _before()
    events = audit_log.search(form.criteria(), before, PAGE_SIZE + 1)
    filters: dict[str, Any] = {k: v for k, v in request.args.items() if k != "before" and v}
    older = None
    if len(events) > PAGE_SIZE:
        events = events[:PAGE_SIZE]
        older = url_for("admin.audit", **filters, before=events[-1].id)
    newest = url_for("admin.audit", **filters)
    page = render_template(
        "admin/audit.html",
        form=form,
        events=events,
        older=older,
        newest=newest if before is not None else None,
        details_text=audit_log.details_text,
    )
    # Reading the trail shows who looked at which incident: that reading is recorded too.
    audit_log.record_view(current_user, AuditAction.AUDIT_VIEW, None)
    return page
