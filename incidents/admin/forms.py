"""Forms to manage users and teams."""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from incidents import queries
from incidents.extensions import db
from incidents.forms import EmailAddress, strip_filter
from incidents.i18n import lazy_gettext as _l
from incidents.labels import ROLE_LABELS
from incidents.models import Role, Team, User

NONE = 0  # the "nobody / no team" choice in select fields


def _team(team_id: int | None) -> Team | None:
    return db.session.get(Team, team_id) if team_id else None


def _user(user_id: int | None) -> User | None:
    return db.session.get(User, user_id) if user_id else None


def _team_choices(exclude: Team | None = None) -> list[SelectChoice]:
    language = str(get_locale() or "nl")
    choices = [
        SelectChoice(t.id, t.name(language))
        for t in queries.active_teams()
        if exclude is None or t.id != exclude.id
    ]
    return [SelectChoice(NONE, str(_l("None"))), *sorted(choices, key=lambda c: c.label.lower())]


def _manager_choices() -> list[SelectChoice]:
    return [
        SelectChoice(NONE, str(_l("Nobody"))),
        *[SelectChoice(u.id, f"{u.name} ({u.email})") for u in queries.active_managers()],
    ]


class UserForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(), Length(max=120)], filters=[strip_filter]
    )
    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(), Length(max=254), EmailAddress()],
        filters=[strip_filter],
    )
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()],
        validators=[DataRequired()],
    )
    team = SelectField(_l("Team"), coerce=int, validate_choice=True)
    front_office = BooleanField(
        _l("Front office: may look up measures in force at the counter"),
        description=_l(
            "They see only whether a measure is in force for a citizen, until when and what it "
            "means at the counter; never the incident or the reason. Every lookup is recorded."
        ),
    )
    security_officer = BooleanField(
        _l("Security officer: approves measures against perpetrators"),
        description=_l(
            "They see every measure in the register and may approve one proposed by a manager, "
            "as a second person. Give it to few people."
        ),
    )

    works_council = BooleanField(
        _l("Works council: reads the overview of corrective actions"),
        description=_l(
            "They see every corrective action with its team, owner, deadline and state; never "
            "an incident, its date or the people in it. They change nothing."
        ),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.team.choices = _team_choices()

    def values(self) -> dict[str, Any]:
        """The account's details, for the service. There is no password: the person sets
        their own through a link sent by mail (separation of duties)."""
        return {
            "email": self.email.data or "",
            "name": self.name.data or "",
            "role": Role(self.role.data),
            "team": _team(self.team.data),
            "front_office": bool(self.front_office.data),
            "security_officer": bool(self.security_officer.data),
            "works_council": bool(self.works_council.data),
        }


class TeamForm(FlaskForm):
    name_nl = StringField(
        _l("Name in Dutch"), validators=[DataRequired(), Length(max=120)], filters=[strip_filter]
    )
    name_en = StringField(
        _l("Name in English"), validators=[DataRequired(), Length(max=120)], filters=[strip_filter]
    )
    parent = SelectField(
        _l("Part of"), coerce=int, description=_l("The department or team above this one.")
    )
    manager = SelectField(_l("Manager"), coerce=int)
    deputy = SelectField(_l("Deputy manager"), coerce=int)

    def __init__(self, *args: object, team: Team | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.parent.choices = _team_choices(exclude=team)
        self.manager.choices = _manager_choices()
        self.deputy.choices = _manager_choices()

    def values(self) -> dict[str, Any]:
        """The team's names, place and managers, for the service."""
        return {
            "name_nl": self.name_nl.data or "",
            "name_en": self.name_en.data or "",
            "parent": _team(self.parent.data),
            "manager": _user(self.manager.data),
            "deputy": _user(self.deputy.data),
        }
