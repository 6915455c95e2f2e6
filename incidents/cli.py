"""Flask commands: `flask create-user`, `flask seed-demo`, `flask remind`, `flask stats`,
`flask retention`, `flask import-org`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from incidents import services
from incidents.extensions import db
from incidents.models import (
    Role,
    Team,
    utcnow,
)
from incidents.services.demo import (
    DEMO_HISTORY_MONTHS,
    DEMO_PASSWORD,
    DEMO_PERMISSIONS,
    history_start,
    refuse_outside_demo,
    seed_demo,
    seed_demo_history,
)


def init_app(app: Flask) -> None:
    """Register the commands."""
    from incidents.services import retention

    # Run it daily from cron; running it twice does nothing twice.
    @app.cli.command("retention")
    @click.option(
        "--years",
        type=click.IntRange(min=1),
        default=None,
        help=(
            f"Retention period in years (default: RETENTION_YEARS, else {retention.DEFAULT_YEARS})."
        ),
    )
    def retention_command(years: int | None) -> None:
        """Anonymise incidents whose aftercare closed more than the retention period ago
        (unless on legal hold), expire ended perpetrator measures, let the register's
        measures start and end on their dates (reminding their managers two weeks before),
        and keep the report."""
        if years is None:
            years = int(current_app.config.get("RETENTION_YEARS", retention.DEFAULT_YEARS))
        try:
            report = retention.run_retention(utcnow(), years)
        except services.ServiceError as error:
            raise click.ClickException(error.message) from error
        click.echo(retention.format_report(report))

    @app.cli.command("seed-demo")
    @click.option(
        "--with-incidents",
        is_flag=True,
        help="Also the last months' incidents of the demo accounts, with aftercare in every state.",
    )
    def seed_demo_command(with_incidents: bool) -> None:
        """Load the demo organisation and accounts (demo mode only, into an empty database or
        one with the demo; a second run adds nothing)."""
        from incidents.services.demo_incidents import seed_demo_incidents
        from incidents.services.demo_stories import DEMO_STORY_MONTHS

        now = utcnow()
        try:
            refuse_outside_demo()
            accounts = seed_demo()
            made = seed_demo_history(now)
            stories = seed_demo_incidents(now, history_start(now)) if with_incidents else 0
        except services.ServiceError as error:
            raise click.ClickException(error.message) from error
        if made:
            click.echo(f"Demo history: {made} past incidents over {DEMO_HISTORY_MONTHS} months")
        if stories:
            click.echo(
                f"Demo incidents: {stories} in the last {DEMO_STORY_MONTHS} months, "
                "with aftercare in every state"
            )
        click.echo(f"Demo accounts (password: {DEMO_PASSWORD}):")
        for email, role in accounts:
            permission = DEMO_PERMISSIONS.get(email, "").replace("_", " ")
            click.echo(f"  {role.value:<9} {email}" + (f" ({permission})" if permission else ""))

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
        from incidents.services.statistics import publish_closed_months

        with services.transaction():
            months = publish_closed_months(utcnow())
        click.echo(f"published: {', '.join(months) if months else 'nothing new'}")

    app.cli.add_command(stats)

    @app.cli.command("remind")
    def remind_command() -> None:
        """Queue due, overdue, escalation and draft reminders, send all unsent mail, and
        delete the sessions that timed out.
        Run it every few minutes (cron or a systemd timer); running it twice, even at the same
        moment, sends nothing twice. "failed": mails not sent this run (see /admin/mail)."""
        from incidents import notify
        from incidents.services.statistics import publish_closed_months

        with services.transaction():
            publish_closed_months(utcnow())
        from incidents.services import ownership

        handed = ownership.sweep_inactive_owners()  # a report that raced a deactivation
        result = notify.run()
        from incidents.services import sessions

        sessions.purge_expired()  # sessions that timed out without a request since
        click.echo("queued {queued}, sent {sent}, failed {failed}".format(**result))
        if handed:
            click.echo(f"handed over {handed} steps of deactivated owners")

    @app.cli.command("doctor")
    @click.option("--repair", is_flag=True, help="Repair what was found.")
    def doctor_command(repair: bool) -> None:
        """Find incidents that should have closed, closed incidents with open steps, steps
        without an owner and drifting statistics; exits 1 when something is left unrepaired.
        Run it daily, with --repair."""
        from incidents.services import doctor

        findings = doctor.examine()
        for line in doctor.summary(findings):
            click.echo(line)
        if not findings.any:
            click.echo("doctor: nothing to repair")
            return
        if not repair:
            raise SystemExit(1)
        done = doctor.repair(findings)
        click.echo(
            "repaired: closed {closed}, reopened {reopened}, owners {owned}, "
            "statistics rows {recounted}".format(**done)
        )
        left = doctor.examine()
        for line in doctor.summary(left):
            click.echo(f"left: {line}")
        if left.any:
            raise SystemExit(1)

    @app.cli.command("import-org")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--apply", "write", is_flag=True, help="Apply it; without: only the dry run.")
    def import_org_command(file: Path, write: bool) -> None:
        """Import people and teams from a CSV export of the HR system (its headers: the
        IMPORT_COLUMNS setting). Prints the dry run; --apply applies it as well. Every run is
        kept with its report (/admin/import)."""
        from flask_babel import force_locale

        from incidents.services import org_import

        try:
            content = file.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise click.ClickException(f"{file} is not UTF-8 text") from error
        try:
            with force_locale("en"):
                record = org_import.import_file(None, content, file.name, write=write)
        except services.ServiceError as error:
            raise click.ClickException(error.message) from error
        for line in org_import.format_report(record):
            click.echo(line)

    @app.cli.command("break-glass")
    @click.argument("email")
    @click.option("--off", is_flag=True, help="Make it an ordinary account again.")
    def break_glass_command(email: str, off: bool) -> None:
        """Mark an admin account break-glass: it keeps its password while PASSWORD_LOGIN is off."""
        from incidents.services import single_sign_on

        user = services.user_by_email(email)
        if user is None:
            raise click.ClickException(f"no account with the address {email}")
        try:
            single_sign_on.set_break_glass(None, user, not off)
        except services.ServiceError as error:
            raise click.ClickException(error.message) from error
        click.echo(f"{user.email} is {'no longer ' if off else ''}a break-glass account.")

    @app.cli.command("forget-sso")
    @click.argument("email")
    def forget_sso_command(email: str) -> None:
        """Unbind an account from its person at the OpenID provider (made anew there): the next
        single sign-on with its address binds again."""
        from incidents.services import single_sign_on

        user = services.user_by_email(email)
        if user is None:
            raise click.ClickException(f"no account with the address {email}")
        single_sign_on.forget_subject(None, user)
        click.echo(f"{user.email} will be bound again at its next single sign-on.")

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
