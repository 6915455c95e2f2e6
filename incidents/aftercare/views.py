"""The inbox, a step's page, completing and handing over steps, and being away."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from incidents import access, queries
from incidents.aftercare import bp
from incidents.aftercare.absence import AbsenceForm
from incidents.aftercare.forms import (
    HandForm,
    PoliceOutcomeForm,
    PoliceReferenceForm,
    StepCorrectionForm,
    StepForm,
)
from incidents.extensions import db
from incidents.forms import page_cursor, show_service_error
from incidents.labels import STEP_FIELD_LABELS, step_labels
from incidents.models import AftercareStep, AuditAction, Role, User, utcnow
from incidents.rules import StepKind
from incidents.security import roles
from incidents.services import (
    ServiceError,
    aftercare,
    audit_log,
    corrections,
    measures,
    numbers,
)

STATES = queries.INBOX_STATES


def _step_or_404(step_id: int) -> AftercareStep:
    step = db.session.get(AftercareStep, step_id)
    if step is None or not access.may_work_on(current_user, step):
        abort(404)
    return step


@bp.route("")
@roles(Role.MANAGER)
def inbox() -> ResponseReturnValue:
    """Two tabs: the steps I own, and those of my teams I stand in for; each filtered by
    state, grouped by incident, searchable by incident number or person."""
    tab = queries.InboxTab(_choice(request.args.get("tab"), list(queries.InboxTab), "mine"))
    state = _choice(request.args.get("state"), list(STATES), "open")
    text = " ".join(request.args.get("q", "").split())[: queries.INBOX_SEARCH_MAX]
    search, search_error = _search(text)
    now = utcnow()
    after = page_cursor()
    groups, more = queries.inbox_page(current_user, tab, state, now, search, after)
    return render_template(
        "aftercare/inbox.html",
        groups=groups,
        more=more,
        paged=after is not None,
        page_size=queries.INBOX_PAGE,
        tab=tab,
        tabs=list(queries.InboxTab),
        counts=queries.inbox_counts(current_user, state, now, search),
        state=state,
        states=STATES,
        q=text,
        search=search,
        search_error=search_error,
        now=now,
        labels=step_labels(),
        absence_form=AbsenceForm(return_to="inbox"),
    )


def _choice(value: str | None, choices: list[Any], default: Any) -> Any:
    """`value` when it is one of `choices`, else `default`: a tampered address shows the
    default list, never an error."""
    return value if value in choices else default


def _search(text: str) -> tuple[queries.InboxSearch, str | None]:
    """What was typed as a search: an incident number ("2026-0142") or part of a name; and
    the message for the field when it can be neither."""
    if not text:
        return queries.NO_SEARCH, None
    number = numbers.parse(text)
    if number is not None:
        return queries.InboxSearch(number=number), None
    if len(text) < queries.INBOX_SEARCH_MIN:
        return queries.NO_SEARCH, _(
            "Type an incident number, such as 2026-0142, or at least two letters of a name."
        )
    return queries.InboxSearch(person=text), None


@bp.route("/steps/<int:step_id>", methods=["GET", "POST"])
@roles(Role.MANAGER)
def step(step_id: int) -> ResponseReturnValue:
    """Record the outcome of a step."""
    item = _step_or_404(step_id)
    form = StepForm(step=item)
    if request.method == "POST" and not item.is_open:
        flash(aftercare.already_recorded(), "error")
        return redirect(url_for("aftercare.step", step_id=item.id))
    if form.validate_on_submit():
        try:
            aftercare.complete_step(current_user, item, form.result(), form.attempts.data or 0)
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("aftercare.inbox"))
    now = utcnow()
    may_correct = access.may_correct_step(current_user, item)
    # The response to the perpetrator: the register's measures on its incident, and a link
    # to propose one from this step (the form then starts from it).
    responding = item.kind == StepKind.PERPETRATOR_RESPONSE and not item.incident.is_draft
    may_propose = responding and access.may_propose_measure(current_user, item.incident)
    page = render_template(
        "aftercare/step.html",
        measures_here=measures.on_incident(
            current_user,
            measures.measures_of_incident(item.incident),
            url_for("measures.propose", step=item.id) if may_propose else None,
        )
        if responding
        else None,
        step=item,
        incident=item.incident,
        full=access.incident_view(current_user, item.incident) == access.View.FULL,
        form=form,
        hand=HandForm(exclude_id=item.owner_id),
        police=PoliceOutcomeForm(data={"police_outcome": item.police_outcome or ""}),
        police_reference=PoliceReferenceForm(data={"police_reference": item.reference}),
        police_outcome_allowed=aftercare.police_outcome_allowed(item),
        correction_until=corrections.correction_until(item) if may_correct else None,
        correction_open=may_correct and corrections.correction_open(item, now),
        correction_days=corrections.correction_days(),
        labels=step_labels(),
        field_labels=STEP_FIELD_LABELS,
        now=now,
    )
    if request.method == "GET":
        # Recorded after rendering: the commit would expire what the page still needs.
        audit_log.record_view(current_user, AuditAction.STEP_VIEW, item, incident=item.incident_id)
    return page


@bp.route("/steps/<int:step_id>/hand", methods=["POST"])
@roles(Role.MANAGER)
def hand(step_id: int) -> ResponseReturnValue:
    """Give the step to the deputy or another manager."""
    item = _step_or_404(step_id)
    form = HandForm(exclude_id=item.owner_id)
    if form.validate_on_submit():
        new_owner = db.session.get(User, form.owner.data)
        try:
            if new_owner is None:
                raise ServiceError(_("Choose an active manager."), "owner")
            aftercare.hand_step(current_user, item, new_owner)
        except ServiceError as error:
            flash(error.message, "error")
        else:
            flash(_("The step now belongs to %(name)s.", name=new_owner.name), "success")
            return redirect(url_for("aftercare.inbox"))
    else:
        flash(_("Choose an active manager."), "error")
    return redirect(url_for("aftercare.step", step_id=item.id))


def _record_later(
    step_id: int, form: PoliceOutcomeForm | PoliceReferenceForm, field: Any, record: Any
) -> ResponseReturnValue:
    """Record one fact of a filed police report later (its outcome, its number): saved, or its
    problem flashed; back to the step's page either way."""
    item = _step_or_404(step_id)
    if form.validate_on_submit():
        try:
            record(current_user, item, field.data or "")
        except ServiceError as error:
            flash(error.message, "error")
        else:
            flash(_("Saved."), "success")
    else:
        for message in field.errors:
            flash(message, "error")
    return redirect(url_for("aftercare.step", step_id=item.id))


@bp.route("/steps/<int:step_id>/police-outcome", methods=["POST"])
@roles(Role.MANAGER)
def police_outcome(step_id: int) -> ResponseReturnValue:
    """Record, later, what came of a filed police report."""
    form = PoliceOutcomeForm()
    return _record_later(step_id, form, form.police_outcome, aftercare.record_police_outcome)


@bp.route("/steps/<int:step_id>/correct", methods=["GET", "POST"])
@roles(Role.MANAGER)
def correct(step_id: int) -> ResponseReturnValue:
    """Correct what was recorded on a step, with a reason (the earlier values are kept)."""
    item = _step_or_404(step_id)
    if not access.may_correct_step(current_user, item):
        abort(403)
    if not corrections.correction_open(item, utcnow()):
        flash(corrections.period_over(), "error")
        return redirect(url_for("aftercare.step", step_id=item.id))
    form = StepCorrectionForm(step=item)
    if form.validate_on_submit():
        try:
            corrections.correct_step(
                current_user,
                item,
                form.result(),
                form.correction_reason.data or "",
                form.revision.data or 0,
            )
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(_("The correction was saved."), "success")
            return redirect(url_for("aftercare.step", step_id=item.id))
    page = render_template(
        "aftercare/correct.html",
        step=item,
        form=form,
        labels=step_labels(),
        now=utcnow(),
    )
    if request.method == "GET":
        audit_log.record_view(current_user, AuditAction.STEP_VIEW, item, incident=item.incident_id)
    return page


@bp.route("/steps/<int:step_id>/police-reference", methods=["POST"])
@roles(Role.MANAGER)
def police_reference(step_id: int) -> ResponseReturnValue:
    """Add, or change, the number of a filed police report later."""
    form = PoliceReferenceForm()
    return _record_later(step_id, form, form.police_reference, aftercare.record_police_reference)


@bp.route("/absence", methods=["GET", "POST"])
@roles(Role.MANAGER)
def absence() -> ResponseReturnValue:
    """Mark myself away until the day I am back (new steps go to my deputies), or back."""
    form = AbsenceForm()
    if form.validate_on_submit():
        back = request.form.get("back") == "1"
        try:
            aftercare.set_absent(current_user, not back, None if back else form.back_on.data)
        except ServiceError as error:
            show_service_error(form, error)
        else:
            # Away: the page's banner says so, as long as it lasts; no flash to repeat it.
            if back:
                flash(_("Welcome back: new steps come to you again."), "success")
            return redirect(url_for(form.next_endpoint()))
    return render_template("aftercare/absence.html", form=form)
