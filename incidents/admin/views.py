"""Admin views: list, create, edit and (de)activate users and teams."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from incidents import queries, services
from incidents.admin import bp
from incidents.admin.forms import NONE, TeamForm, UserForm
from incidents.extensions import db
from incidents.forms import ConfirmForm, show_service_error
from incidents.labels import ROLE_LABELS
from incidents.models import Role, Team, User
from incidents.security import roles
from incidents.services import ServiceError, two_factor


@bp.route("/users")
@roles(Role.ADMIN)
def users() -> ResponseReturnValue:
    return render_template("admin/users.html", users=queries.user_list(), role_labels=ROLE_LABELS)


@bp.route("/users/new", methods=["GET", "POST"])
@roles(Role.ADMIN)
def new_user() -> ResponseReturnValue:
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(current_user, password=None, **form.values())
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(
                _(
                    "Account created for %(name)s. A link to set a password was sent to %(email)s.",
                    name=user.name,
                    email=user.email,
                ),
                "success",
            )
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@roles(Role.ADMIN)
def edit_user(user_id: int) -> ResponseReturnValue:
    user = db.get_or_404(User, user_id)
    form = UserForm(
        data={
            "name": user.name,
            "email": user.email,
            "role": user.role.value,
            "team": user.team_id or NONE,
            "front_office": user.front_office,
            "security_officer": user.security_officer,
            "works_council": user.works_council,
        }
    )
    if form.validate_on_submit():
        try:
            services.update_user(current_user, user, **form.values())
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(_("Changes to %(name)s saved.", name=user.name), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user, reset_form=ConfirmForm())


@bp.route("/users/<int:user_id>/password-link", methods=["POST"])
@roles(Role.ADMIN)
def send_password_link(user_id: int) -> ResponseReturnValue:
    """Never a password set by an admin: a link, by mail, to the person only."""
    user = db.get_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.password_reset.send_link(current_user, user)
    except ServiceError as error:
        flash(error.message, "error")
    else:
        flash(
            ngettext(
                "A link to set a new password was sent to %(email)s. It works once, for "
                "%(num)s hour.",
                "A link to set a new password was sent to %(email)s. It works once, for "
                "%(num)s hours.",
                current_app.config["PASSWORD_RESET_HOURS"],
                email=user.email,
            ),
            "success",
        )
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/users/<int:user_id>/two-factor-reset", methods=["POST"])
@roles(Role.ADMIN)
def reset_two_factor(user_id: int) -> ResponseReturnValue:
    """For someone who lost their phone: their two-factor sign-in off, told by mail."""
    user = db.get_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        two_factor.reset(current_user, user)
    except ServiceError as error:
        flash(error.message, "error")
    else:
        flash(
            _(
                "Two-factor sign-in of %(name)s has been reset. They were told by mail.",
                name=user.name,
            ),
            "success",
        )
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@roles(Role.ADMIN)
def set_user_active(user_id: int) -> ResponseReturnValue:
    user = db.get_or_404(User, user_id)
    activate = not user.active
    try:
        services.set_active(current_user, user, activate)
    except ServiceError as error:
        flash(error.message, "error")
    else:
        message = (
            _("%(name)s can log in again.") if activate else _("%(name)s can no longer log in.")
        )
        flash(message % {"name": user.name}, "success")
    return redirect(url_for("admin.users"))


@bp.route("/teams")
@roles(Role.ADMIN)
def teams() -> ResponseReturnValue:
    return render_template("admin/teams.html", teams=queries.team_list())


@bp.route("/teams/new", methods=["GET", "POST"])
@roles(Role.ADMIN)
def new_team() -> ResponseReturnValue:
    form = TeamForm()
    if form.validate_on_submit():
        try:
            services.create_team(current_user, **form.values())
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(_("Team created."), "success")
            return redirect(url_for("admin.teams"))
    return render_template("admin/team_form.html", form=form, team=None)


@bp.route("/teams/<int:team_id>/edit", methods=["GET", "POST"])
@roles(Role.ADMIN)
def edit_team(team_id: int) -> ResponseReturnValue:
    team = db.get_or_404(Team, team_id)
    form = TeamForm(
        team=team,
        data={
            "name_nl": team.name_nl,
            "name_en": team.name_en,
            "parent": team.parent_id or NONE,
            "manager": team.manager_id or NONE,
            "deputy": team.deputy_id or NONE,
        },
    )
    if form.validate_on_submit():
        try:
            services.update_team(current_user, team, **form.values())
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(_("Changes saved."), "success")
            return redirect(url_for("admin.teams"))
    return render_template("admin/team_form.html", form=form, team=team, members=team.members)


@bp.route("/teams/<int:team_id>/active", methods=["POST"])
@roles(Role.ADMIN)
def set_team_active(team_id: int) -> ResponseReturnValue:
    team = db.get_or_404(Team, team_id)
    try:
        services.set_team_active(current_user, team, not team.active)
    except ServiceError as error:
        flash(error.message, "error")
    else:
        flash(_("Team reactivated.") if team.active else _("Team deactivated."), "success")
    return redirect(url_for("admin.teams"))
