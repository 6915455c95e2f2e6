"""Flask commands: `flask create-user`, `flask seed-demo`, `flask remind`, `flask stats`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from incidents import services
from incidents.extensions import db
from incidents.models import Role, Team, User

DEMO_PASSWORD = "aftercare-demo"  # noqa: S105 - demo mode only, refused in production

DEMO_ACCOUNTS: list[tuple[str, str, Role, str | None]] = [
    ("employee@demo.test", "Eva Employee", Role.EMPLOYEE, "income"),
    ("witness@demo.test", "Wim Witness", Role.EMPLOYEE, "enforcement"),
    ("manager@demo.test", "Mira Manager", Role.MANAGER, "income"),
    ("manager2@demo.test", "Max Manager", Role.MANAGER, "enforcement"),
    ("hr@demo.test", "Hanna HR", Role.HR, None),
    ("admin@demo.test", "Adam Admin", Role.ADMIN, None),
]


def seed_demo() -> list[tuple[str, Role]]:
    """Load the demo organisation and accounts once; returns the accounts (e-mail, role)."""
    if not current_app.config["DEMO"]:
        raise click.ClickException("demo data is only loaded in demo mode, never in production")
    if db.session.scalar(select(User).where(User.email == DEMO_ACCOUNTS[0][0])) is None:
        department = services.create_team(None, name_nl="Sociaal Domein", name_en="Social Domain")
        teams = {
            "income": services.create_team(
                None, name_nl="Inkomen", name_en="Income", parent=department
            ),
            "enforcement": services.create_team(
                None, name_nl="Handhaving", name_en="Enforcement", parent=department
            ),
            "front": services.create_team(
                None, name_nl="Publiekszaken", name_en="Front office", parent=department
            ),
        }
        users = {
            email: services.create_user(
                None,
                email=email,
                name=name,
                password=DEMO_PASSWORD,
                role=role,
                team=teams[team] if team else None,
            )
            for email, name, role, team in DEMO_ACCOUNTS
        }
        manager, manager2 = users["manager@demo.test"], users["manager2@demo.test"]
        for key, boss, deputy in (
            ("income", manager, manager2),
            ("enforcement", manager2, manager),
            ("front", manager, None),
        ):
            team = teams[key]
            services.update_team(
                None,
                team,
                name_nl=team.name_nl,
                name_en=team.name_en,
                parent=department,
                manager=boss,
                deputy=deputy,
            )
    return [(email, role) for email, _, role, _ in DEMO_ACCOUNTS]


def init_app(app: Flask) -> None:
    """Register the commands."""
    from incidents.privacy import retention

    retention.register(app)

    @app.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Load the demo organisation and accounts (demo mode only)."""
        accounts = seed_demo()
        click.echo(f"Demo accounts (password: {DEMO_PASSWORD}):")
        for email, role in accounts:
            click.echo(f"  {role.value:<9} {email}")

    stats = AppGroup("stats", help="The statistics' running counts.")

    @stats.command("rebuild")
    def stats_rebuild_command() -> None:
        """Recount the statistics from the incidents (after upgrading to a version that adds
        running counts, or after restoring data by hand)."""
        from incidents.stats import tally

        with db.engine.begin() as connection:
            rows = tally.rebuild(connection)
        click.echo(f"stat_tally: {rows} rows")

    @stats.command("check")
    def stats_check_command() -> None:
        """Compare the running counts with a full recount; exits 1 when they differ."""
        from incidents.stats import tally

        with db.engine.connect() as connection:
            differ = tally.drift(connection)
        for key, (kept, recounted) in list(differ.items())[:20]:
            click.echo(f"{key}: kept {kept}, recounted {recounted}")
        if differ:
            raise SystemExit(1)
        click.echo("stat_tally: equal to a full recount")

    @stats.command("publish")
    def stats_publish_command() -> None:
        """Publish (freeze) the statistics of every month that has closed; `flask remind` and
        every statistics page do this too."""
        from incidents.models import utcnow
        from incidents.services.statistics import publish_closed_months

        with services.transaction():
            months = publish_closed_months(utcnow())
        click.echo(f"published: {', '.join(months) if months else 'nothing new'}")

    app.cli.add_command(stats)

    @app.cli.command("remind")
    def remind_command() -> None:
        """Queue due, overdue, escalation and draft reminders, and send all unsent mail.
        Run it every few minutes (cron or a systemd timer); running it twice sends nothing twice."""
        from incidents import notify
        from incidents.models import utcnow
        from incidents.services.statistics import publish_closed_months

        with services.transaction():
            publish_closed_months(utcnow())
        result = notify.run()
        click.echo("queued {queued}, sent {sent}, failed {failed}".format(**result))

    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--name", required=True, help="Full name shown in the app.")
    @click.option(
        "--role",
        type=click.Choice([r.value for r in Role]),
        default=Role.EMPLOYEE.value,
        show_default=True,
    )
    @click.option("--team-id", type=int, default=None, help="Id of the user's team.")
    @click.password_option(help="Prompted for when not given.")
    def create_user_command(
        email: str, name: str, role: str, team_id: int | None, password: str
    ) -> None:
        """Create an account (for example the first administrator)."""
        minimum = current_app.config["PASSWORD_MIN_LENGTH"]
        if len(password) < minimum:
            raise click.BadParameter(f"use at least {minimum} characters", param_hint="password")
        team = db.session.get(Team, team_id) if team_id is not None else None
        if team_id is not None and team is None:
            raise click.BadParameter(f"no team with id {team_id}", param_hint="--team-id")
        try:
            user = services.create_user(
                None, email=email, name=name, password=password, role=Role(role), team=team
            )
        except services.ServiceError as error:
            raise click.ClickException(error.message) from error
        click.echo(f"Created {user.role.value} {user.email} (id {user.id}).")
