"""The register's pages: the list, proposing a measure, a measure's page and what is done on
it (approving, the hearing, the notice letter, ending, extending).

Every role may reach these addresses; who may see which measure is `incidents.access`
(deny by default: a measure someone may not see answers 404, as if it did not exist).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from incidents import access
from incidents.extensions import db
from incidents.forms import show_service_error
from incidents.measures import bp
from incidents.measures.forms import (
    HEARD_HOW_LABELS,
    NOTICE_HOW_LABELS,
    ApproveForm,
    CloseForm,
    ExtendForm,
    HearingForm,
    NoticeSentForm,
    ProposeForm,
)
from incidents.models import AftercareStep, AuditAction, Measure, MeasureState, User, utcnow
from incidents.security import ALL_ROLES, roles
from incidents.services import InvalidInput, ServiceError, audit_log, measures, numbers


def _register_keeper() -> None:
    if not access.may_keep_register(current_user):
        abort(404)


def _measure_or_404(measure_id: int) -> Measure:
    measure = db.session.get(Measure, measure_id)
    if measure is None or not access.may_see_measure(current_user, measure):
        abort(404)
    return measure


@bp.route("")
@roles(*ALL_ROLES)
def register() -> ResponseReturnValue:
    """The measures this manager or security officer may see: waiting for their approval,
    other proposals, in force, ended."""
    _register_keeper()
    now = utcnow()
    return render_template(
        "measures/register.html",
        register=measures.register(current_user, now),
        today=measures.today(now),
        page_size=measures.REGISTER_PAGE,
        kinds=measures.kind_titles(),
    )


def _contact_person(email: str | None) -> int | None:
    if not email:
        return None
    user = db.session.scalar(db.select(User).where(User.email == email.lower()))
    return user.id if user is not None else 0


@bp.route("/new", methods=["GET", "POST"])
@roles(*ALL_ROLES)
def propose() -> ResponseReturnValue:
    """Propose a measure, from an incident (`?incident=2026-0142`) or its response step."""
    _register_keeper()
    form = ProposeForm()
    now = utcnow()
    day = measures.today(now)
    if request.method == "GET":
        _prefill(form, day)
    if form.validate_on_submit():
        numbers_ = measures.parse_numbers(form.incidents.data or "")
        step = form.step.data or ""
        proposal = measures.Proposal(
            kind=form.kind.data or "",
            citizen_name=form.citizen_name.data or "",
            citizen_reference=form.citizen_reference.data or "",
            reason=form.reason.data or "",
            starts_on=form.starts_on.data,
            ends_on=form.ends_on.data,
            incident_numbers=numbers_ or [],
            contact_person_id=_contact_person(form.contact_person.data),
            step_id=int(step) if step.isascii() and step.isdigit() else None,
        )
        if numbers_ is None:
            form.incidents.errors = [
                _("Enter incident numbers such as 2026-0142, separated by commas.")
            ]
        else:
            try:
                measure = measures.propose(current_user, proposal, now=now)
            except ServiceError as error:
                show_service_error(form, error)
            else:
                flash(_("The measure is proposed. It takes effect once it is approved."), "success")
                return redirect(url_for("measures.detail", measure_id=measure.id))
    return render_template("measures/propose.html", form=form)


def _prefill(form: ProposeForm, day: Any) -> None:
    """From an incident or its response step: the incident's number and, for those who see
    it, the perpetrator's name and reference as the report gave them."""
    form.starts_on.data = day
    number = numbers.parse(request.args.get("incident", ""))
    incident = numbers.incident_numbered(number) if number else None
    step_id = request.args.get("step", "")
    if step_id.isascii() and step_id.isdigit():
        step = db.session.get(AftercareStep, int(step_id))
        if step is not None and access.may_work_on(current_user, step):
            incident = step.incident
            form.step.data = str(step.id)
    if incident is None or not access.may_propose_measure(current_user, incident):
        return
    form.incidents.data = incident.number or ""
    form.citizen_name.data = incident.perpetrator_name
    form.citizen_reference.data = incident.perpetrator_reference


@bp.route("/<int:measure_id>")
@roles(*ALL_ROLES)
def detail(measure_id: int) -> ResponseReturnValue:
    measure = _measure_or_404(measure_id)
    page = _detail_page(measure)
    # Recorded after rendering: the commit would expire what the page still needs.
    audit_log.record_view(current_user, AuditAction.MEASURE_VIEW, measure)
    return page


def _detail_page(measure: Measure, **forms: Any) -> str:
    now = utcnow()
    day = measures.today(now)
    revision = {"revision": str(measure.revision)}
    kind = measures.kind_of(measure)
    extends_default = None
    if measure.ends_on and kind is not None:
        extends_default = measure.ends_on + timedelta(days=kind.default_days)
    return render_template(
        "measures/detail.html",
        measure=measure,
        kind=kind,
        kind_title=measures.kind_titles().get(measure.kind, measure.kind),
        state=measure.state_on(day),
        States=MeasureState,
        today=day,
        days=measures.days_of(measure.starts_on, measure.ends_on),
        approvals_missing=measures.approvals_missing(measure),
        second_needed=measures.needs_second_approval(measure),
        hearing_needed=measures.hearing_needed(measure),
        may_approve=access.may_approve_measure(current_user, measure),
        may_manage=access.may_manage_measure(current_user, measure),
        extension=measures.extension_of(measure),
        visible_incidents=[
            i for i in measure.incidents if access.incident_view(current_user, i) is not None
        ],
        heard_how=HEARD_HOW_LABELS,
        notice_how=NOTICE_HOW_LABELS,
        approve_form=forms.get("approve") or ApproveForm(data=revision),
        hearing_form=forms.get("hearing") or HearingForm(data=revision),
        notice_form=forms.get("notice") or NoticeSentForm(data={**revision, "sent_on": day}),
        close_form=forms.get("close") or CloseForm(data=revision),
        extend_form=forms.get("extend")
        or ExtendForm(data={**revision, "ends_on": extends_default}),
    )


def _act(
    measure: Measure, form_name: str, form: Any, action: Any, done: str
) -> ResponseReturnValue:
    """Run `action` for a valid form; on a refusal show the page with the message next to
    the form's fields."""
    if form.validate_on_submit():
        try:
            action(form)
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(done, "success")
            return redirect(url_for("measures.detail", measure_id=measure.id))
    db.session.refresh(measure)
    return _detail_page(measure, **{form_name: form}), 400


@bp.route("/<int:measure_id>/approve", methods=["POST"])
@roles(*ALL_ROLES)
def approve(measure_id: int) -> ResponseReturnValue:
    measure = _measure_or_404(measure_id)
    return _act(
        measure,
        "approve",
        ApproveForm(),
        lambda f: measures.approve(current_user, measure.id, f.opened_at()),
        _("Approved."),
    )


@bp.route("/<int:measure_id>/hearing", methods=["POST"])
@roles(*ALL_ROLES)
def hearing(measure_id: int) -> ResponseReturnValue:
    measure = _measure_or_404(measure_id)
    return _act(
        measure,
        "hearing",
        HearingForm(),
        lambda f: measures.record_hearing(
            current_user,
            measure.id,
            f.opened_at(),
            heard_on=f.heard_on.data,
            how=f.heard_how.data or "",
            not_heard_reason=f.not_heard_reason.data or "",
        ),
        _("The hearing is recorded."),
    )


@bp.route("/<int:measure_id>/notice-sent", methods=["POST"])
@roles(*ALL_ROLES)
def notice_sent(measure_id: int) -> ResponseReturnValue:
    measure = _measure_or_404(measure_id)
    return _act(
        measure,
        "notice",
        NoticeSentForm(),
        lambda f: measures.record_notice_sent(
            current_user,
            measure.id,
            f.opened_at(),
            sent_on=f.sent_on.data,
            how=f.sent_how.data or "",
        ),
        _("Recorded that the letter was sent."),
    )


@bp.route("/<int:measure_id>/close", methods=["POST"])
@roles(*ALL_ROLES)
def close(measure_id: int) -> ResponseReturnValue:
    measure = _measure_or_404(measure_id)
    return _act(
        measure,
        "close",
        CloseForm(),
        lambda f: measures.close(current_user, measure.id, f.opened_at(), f.reason.data or ""),
        _("Saved."),
    )


@bp.route("/<int:measure_id>/extend", methods=["POST"])
@roles(*ALL_ROLES)
def extend(measure_id: int) -> ResponseReturnValue:
    measure = _measure_or_404(measure_id)
    made: list[Measure] = []

    def run(form: ExtendForm) -> None:
        try:
            made.append(
                measures.extend(
                    current_user,
                    measure.id,
                    form.opened_at(),
                    ends_on=form.ends_on.data,
                    reason=form.extension_reason.data or "",
                )
            )
        except InvalidInput as error:  # the reason's message goes next to this form's field
            raise InvalidInput(
                {("extension_reason" if k == "reason" else k): v for k, v in error.errors.items()}
            ) from error

    response = _act(measure, "extend", ExtendForm(), run, _("The extension is proposed."))
    if made:
        return redirect(url_for("measures.detail", measure_id=made[0].id))
    return response
