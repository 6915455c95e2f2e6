"""The pages of corrective actions.

Every role may reach these addresses (managers alone add actions, from a team evaluation);
who may see and do what on which action is `incidents.access` (deny by default: an action
someone may not see answers 404, as if it did not exist). The overview and its CSV file show
no incident detail at all: no number, date, kind, level or person of an incident.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from incidents import access
from incidents.actions import bp
from incidents.actions.forms import (
    RESULT_LABELS,
    STATE_LABELS,
    ActionForm,
    CancelForm,
    ChangeForm,
    CloseForm,
    ReviewForm,
)
from incidents.csvsafe import csv_text
from incidents.extensions import db
from incidents.forms import show_service_error
from incidents.i18n import format_day
from incidents.models import AftercareStep, CorrectiveAction, Role, Team, utcnow
from incidents.security import ALL_ROLES, roles
from incidents.services import ServiceError
from incidents.services import actions as corrective


def _action_or_404(action_id: int) -> CorrectiveAction:
    action = db.session.get(CorrectiveAction, action_id)
    if action is None or not access.may_see_action(current_user, action):
        abort(404)
    return action


def _labels() -> dict[str, Any]:
    return {"state_labels": STATE_LABELS, "result_labels": RESULT_LABELS}


@bp.route("/new/<int:step_id>", methods=["GET", "POST"])
@roles(Role.MANAGER)
def new(step_id: int) -> ResponseReturnValue:
    """Add an action agreed at a team evaluation (the step's page holds the same form)."""
    step = db.session.get(AftercareStep, step_id)
    if step is None or not access.may_create_action(current_user, step):
        abort(404)
    form = ActionForm()
    if form.validate_on_submit():
        data = corrective.ActionInput(
            what=form.what.data or "",
            owner_id=corrective.owner_id_by_email(form.owner.data),
            due_on=form.due_on.data,
            risk_item=form.risk_item.data or "",
        )
        try:
            corrective.create(current_user, step.id, data)
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(_("The action is added."), "success")
            return redirect(url_for("aftercare.step", step_id=step.id))
    elif request.method == "GET":
        form.owner.data = current_user.email
    return render_template("actions/new.html", form=form, step=step)


@bp.route("/<int:action_id>")
@roles(*ALL_ROLES)
def detail(action_id: int) -> ResponseReturnValue:
    return _detail_page(_action_or_404(action_id))


def _detail_page(action: CorrectiveAction, **forms: Any) -> str:
    day = corrective.today()
    revision = {"revision": str(action.revision)}
    return render_template(
        "actions/detail.html",
        action=action,
        today=day,
        may_manage=action.is_open and access.may_manage_action(current_user, action),
        may_close=action.is_open and access.may_close_action(current_user, action),
        may_review=access.may_review_action(current_user, action),
        review_open=action.review_open(day),
        step_link=access.may_work_on(current_user, action.step),
        change_form=forms.get("change")
        or ChangeForm(data={**revision, "owner": action.owner.email, "due_on": action.due_on}),
        close_form=forms.get("close") or CloseForm(data={**revision, "done_on": day}),
        review_form=forms.get("review") or ReviewForm(data=revision),
        cancel_form=forms.get("cancel") or CancelForm(data=revision),
        **_labels(),
    )


def _act(
    action: CorrectiveAction,
    form_name: str,
    form: Any,
    run: Callable[[Any], object],
    done: str,
) -> ResponseReturnValue:
    """Run `run` for a valid form; on a refusal show the page with the message next to the
    form's fields (a stale form: the message on top, the page as it is now)."""
    if form.validate_on_submit():
        try:
            run(form)
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(done, "success")
            return redirect(url_for("actions.detail", action_id=action.id))
    db.session.refresh(action)
    return _detail_page(action, **{form_name: form}), 400


@bp.route("/<int:action_id>/change", methods=["POST"])
@roles(*ALL_ROLES)
def change(action_id: int) -> ResponseReturnValue:
    action = _action_or_404(action_id)
    return _act(
        action,
        "change",
        ChangeForm(),
        lambda f: corrective.change(
            current_user,
            action.id,
            f.opened_at(),
            owner_id=corrective.owner_id_by_email(f.owner.data),
            due_on=f.due_on.data,
        ),
        _("Saved."),
    )


@bp.route("/<int:action_id>/close", methods=["POST"])
@roles(*ALL_ROLES)
def close(action_id: int) -> ResponseReturnValue:
    action = _action_or_404(action_id)
    return _act(
        action,
        "close",
        CloseForm(),
        lambda f: corrective.close(
            current_user,
            action.id,
            f.opened_at(),
            done_on=f.done_on.data,
            note=f.done_note.data or "",
        ),
        _("The action is closed. You will be asked later whether it worked."),
    )


@bp.route("/<int:action_id>/review", methods=["POST"])
@roles(*ALL_ROLES)
def review(action_id: int) -> ResponseReturnValue:
    action = _action_or_404(action_id)
    return _act(
        action,
        "review",
        ReviewForm(),
        lambda f: corrective.review(
            current_user,
            action.id,
            f.opened_at(),
            result=f.review_result.data or "",
            note=f.review_note.data or "",
        ),
        _("Saved."),
    )


@bp.route("/<int:action_id>/cancel", methods=["POST"])
@roles(*ALL_ROLES)
def cancel(action_id: int) -> ResponseReturnValue:
    action = _action_or_404(action_id)
    return _act(
        action,
        "cancel",
        CancelForm(),
        lambda f: corrective.cancel(
            current_user, action.id, f.opened_at(), reason=f.cancel_reason.data or ""
        ),
        _("The action is cancelled."),
    )


@bp.route("/mine")
@roles(*ALL_ROLES)
def mine() -> ResponseReturnValue:
    """The actions someone owns that wait for them: to do, or to review."""
    return render_template(
        "actions/mine.html",
        actions=corrective.open_for_owner(current_user),
        today=corrective.today(),
        **_labels(),
    )


@bp.route("/team/<int:team_id>")
@roles(*ALL_ROLES)
def team(team_id: int) -> ResponseReturnValue:
    """A team's actions, open ones first: for those who lead it (and the overview's readers)."""
    unit = db.session.get(Team, team_id)
    if unit is None or not access.may_see_team_actions(current_user, unit):
        abort(404)
    return render_template(
        "actions/team.html",
        team=unit,
        actions=corrective.for_team(unit.id),
        today=corrective.today(),
        **_labels(),
    )


def _filters() -> tuple[str | None, int | None]:
    """The overview's filters from the address; anything else shows everything."""
    state = request.args.get("state", "")
    team = request.args.get("team", "")
    return (
        state if state in STATE_LABELS else None,
        int(team) if team.isascii() and team.isdigit() and len(team) < 10 else None,
    )


def _overview_reader() -> None:
    if not access.may_see_all_actions(current_user):
        abort(404)


@bp.route("")
@roles(*ALL_ROLES)
def overview() -> ResponseReturnValue:
    """Every action and its state, filtered by state and team: HR, admins and the works
    council. No incident detail."""
    _overview_reader()
    state, team_id = _filters()
    rows = corrective.overview(state, team_id)
    return render_template(
        "actions/overview.html",
        actions=rows,
        more=len(rows) >= corrective.OVERVIEW_MAX,
        limit=corrective.OVERVIEW_MAX,
        state=state,
        team_id=team_id,
        teams=corrective.teams_with_actions(),
        today=corrective.today(),
        **_labels(),
    )


@bp.route("/export.csv")
@roles(*ALL_ROLES)
def overview_csv() -> ResponseReturnValue:
    """The overview (with its filters) as a CSV file; every cell made safe (`csvsafe`)."""
    _overview_reader()
    state, team_id = _filters()
    locale = _locale()
    header = [
        _("Team"),
        _("What will change"),
        _("Item of the risk inventory"),
        _("Owner"),
        _("Deadline"),
        _("State"),
        _("Done on"),
        _("What was done"),
        _("Whether it worked"),
    ]
    rows: list[list[object]] = [header]
    for action in corrective.overview(state, team_id, limit=None):
        rows.append(
            [
                action.team.name(locale) if action.team else "",
                action.what,
                action.risk_item,
                action.owner.name,
                format_day(action.due_on),
                str(STATE_LABELS[action.state.value]),
                format_day(action.done_on),
                action.done_note,
                str(RESULT_LABELS.get(action.review_result, "")),
            ]
        )
    stamp = utcnow().strftime("%Y%m%d")
    return Response(
        csv_text(rows),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="corrective-actions-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "nl")


# --- pieces of other pages -----------------------------------------------------------------------


@bp.app_template_global("step_actions_of")
def step_actions_of(step: AftercareStep) -> dict[str, Any] | None:
    """For a team evaluation's page (`actions/_of_step.html`): its actions, and the form to
    add one for whoever may; None for any other step."""
    if not corrective.team_evaluation(step):
        return None
    form = None
    if access.may_create_action(current_user, step):
        form = ActionForm(formdata=None, data={"owner": current_user.email})
    return {
        "actions": corrective.of_step(step),
        "form": form,
        "state_labels": STATE_LABELS,
        "today": corrective.today(),
    }


@bp.app_template_global("action_inbox")
def action_inbox() -> dict[str, Any]:
    """For the manager's inbox (`actions/_inbox.html`): the actions they own that wait for
    them, and the teams whose actions they follow."""
    return {
        "actions": corrective.open_for_owner(current_user),
        "teams": corrective.led_teams(current_user),
        "state_labels": STATE_LABELS,
        "today": corrective.today(),
    }
