"""People and the organisation: accounts, teams, team history, sessions, password resets."""

from __future__ import annotations

import enum
import secrets
from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    String,
    and_,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from incidents.extensions import org_zone
from incidents.models.base import Model, UTCDateTime, _enum, utcnow


class Role(enum.StrEnum):
    """What a user may do; see the roles table in DOMAIN.md."""

    EMPLOYEE = "employee"
    MANAGER = "manager"
    HR = "hr"
    ADMIN = "admin"


class AccountSource(enum.StrEnum):
    """Where an account comes from."""

    ADMIN = "admin"
    SCIM = "scim"
    IMPORT = "import"
    OIDC = "oidc"


class User(Model):
    """A person who logs in. Users are deactivated, never deleted."""

    __tablename__ = "user"
    # The colleague picker reads active accounts by name and stops after a page of matches.
    __table_args__ = (Index("ix_user_active_name", "active", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.EMPLOYEE)
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    # A manager who is away: new aftercare steps go to the deputy of the team instead, until
    # the day they are back (`absent_until`, exclusive; None: until they say so). Whether they
    # are away now is `away`, never `absent` alone.
    absent: Mapped[bool] = mapped_column(default=False)
    absent_until: Mapped[date | None] = mapped_column(Date)
    # Permissions an admin sets beside the role: looking up measures in force at the counter
    # (front office), and approving measures against perpetrators (security officer).
    front_office: Mapped[bool] = mapped_column(default=False, server_default="0")
    security_officer: Mapped[bool] = mapped_column(default=False, server_default="0")
    # A member of the works council: reads the overview of corrective actions (never an
    # incident), set by an admin.
    works_council: Mapped[bool] = mapped_column(default=False, server_default="0")
    # The secret in the address of the manager's calendar feed; renewing it ends the old one.
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)
    # Changed on password change and deactivation: every existing session then ends.
    session_token: Mapped[str] = mapped_column(
        String(64), unique=True, default=lambda: secrets.token_urlsafe(32)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Where the account comes from: typed in by an admin, the directory (SCIM), the HR import,
    # or made at a first single sign-on (then listed for the admin).
    source: Mapped[AccountSource] = mapped_column(
        _enum(AccountSource, "account_source", constrained=False), default=AccountSource.ADMIN
    )
    # The directory's id (SCIM externalId) and the HR system's employee number.
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    employee_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The OpenID provider's subject, remembered at the first single sign-on.
    oidc_subject: Mapped[str | None] = mapped_column(String(255), unique=True)
    # A break-glass admin may still log in with a password when password login is off.
    break_glass: Mapped[bool] = mapped_column(default=False)
    # Two-factor sign-in (TOTP): the shared secret, and when the user confirmed it with a code.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last time step whose code was used: a code is accepted once.
    totp_last_step: Mapped[int | None] = mapped_column()

    team: Mapped[Team | None] = relationship(foreign_keys=[team_id], back_populates="members")

    # Flask-Login protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return self.session_token

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    @hybrid_property
    def is_active_manager(self) -> bool:
        """An active account with the manager role: who may own and hand over aftercare."""
        return self.active and self.role == Role.MANAGER

    @is_active_manager.inplace.expression
    @classmethod
    def _is_active_manager_expression(cls) -> ColumnElement[bool]:
        return and_(cls.active.is_(True), cls.role == Role.MANAGER)

    def away_on(self, day: date) -> bool:
        """Away on `day`: marked absent, and the day they are back has not come yet. The one
        place that decides it: once that day comes they count as back, everywhere."""
        return self.absent and (self.absent_until is None or day < self.absent_until)

    @property
    def away(self) -> bool:
        """Away today (in the organisation's time zone): new steps go to the deputies."""
        return self.away_on(utcnow().astimezone(org_zone()).date())

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"


class Team(Model):
    """A team or a department: units nest through `parent_id`.

    Names are kept in Dutch and English; the one in the user's language is shown,
    falling back to the other.
    """

    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_nl: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", use_alter=True), index=True
    )
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", use_alter=True), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # The directory's group id (SCIM) or the HR system's team code (import).
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)

    parent: Mapped[Team | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Team]] = relationship(back_populates="parent")
    manager: Mapped[User | None] = relationship(foreign_keys=[manager_id])
    deputy: Mapped[User | None] = relationship(foreign_keys=[deputy_id])
    members: Mapped[list[User]] = relationship(
        foreign_keys="User.team_id", back_populates="team", order_by="User.name"
    )

    def name(self, locale: str) -> str:
        """The team's name in `locale` ("nl" or "en"), falling back to the other language."""
        preferred = self.name_en if locale == "en" else self.name_nl
        return preferred or self.name_nl or self.name_en

    def manager_above(self) -> User | None:
        """The manager of the nearest parent unit that has one (for escalation)."""
        unit = self.parent
        seen: set[int] = set()
        while unit is not None and unit.id not in seen:
            seen.add(unit.id)
            if unit.manager is not None and unit.manager.active:
                return unit.manager
            unit = unit.parent
        return None

    def ancestors(self) -> list[Team]:
        """Parent, grandparent, ...: used to refuse cycles when a parent is chosen."""
        chain: list[Team] = []
        unit = self.parent
        while unit is not None and unit not in chain:
            chain.append(unit)
            unit = unit.parent
        return chain

    def __repr__(self) -> str:
        return f"<Team {self.id} {self.name_en}>"


class UserSession(Model):
    """A login: the cookie holds only an opaque id, whose SHA-256 is kept here. Logout, the
    timeouts, a password change and deactivation delete the row, so a copied cookie stops
    working at once. The user sees their sessions on their account page and can end them."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship()


class PasswordReset(Model):
    """A single-use, expiring link to set a password, sent by mail (an admin never sets an
    existing user's password). Only the SHA-256 of the link's secret is kept."""

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class LoginThrottle(Model):
    """Failed logins by key ("account:<e-mail>", "pair:<e-mail>|<address>", "address:<ip>"),
    for growing delays instead of a hard lock; shared by every worker and server."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TeamMembership(Model):
    """Who belonged to which team when (``team_id`` None: no team), kept by the app whenever an
    account is created, moved or (de)activated, so statistics take unit sizes as of a period,
    not from today's teams. ``until`` is exclusive; None while it lasts."""

    __tablename__ = "team_membership"
    __table_args__ = (Index("ix_team_membership_team_since", "team_id", "since"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())
