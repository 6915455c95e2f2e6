"""Report, quick log, drafts and my incidents. Views read the form, call one service, redirect."""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from incidents import access, queries, services
from incidents.extensions import db
from incidents.forms import ConfirmForm, fresh_form_url, page_cursor, show_service_error
from incidents.i18n import format_day, format_moment, select_locale
from incidents.labels import (
    AGGRAVATING_LABELS,
    CHANNEL_LABELS,
    FIELD_LABELS,
    HISTORY_ACTIONS,
    PERSON_ROLE_LABELS,
    STEP_FIELD_LABELS,
    TYPE_LABELS,
    step_labels,
)
from incidents.models import (
    AftercareStep,
    AuditAction,
    Channel,
    Incident,
    IncidentType,
    Location,
    Measure,
    PersonRole,
    Role,
    User,
    normalised_location_code,
    utcnow,
)
from incidents.reporting import bp
from incidents.reporting.forms import (
    EvidenceForm,
    QuickLogForm,
    RemoveEvidenceForm,
    ReportForm,
    local_now,
    uploads,
)
from incidents.security import accepts_file, roles
from incidents.services import ServiceError, audit_log, measures, victim_view
from incidents.services.base import still_loaded
from incidents.services.reporting import StaleEdit

# Everyone may report what happened to them and follow their own incidents, whatever their
# role: access.incident_view decides which incidents (HR and admins see only their own).
REPORTERS = (Role.EMPLOYEE, Role.MANAGER, Role.ADMIN, Role.HR)

LABELS = {
    "channels": CHANNEL_LABELS,
    "types": TYPE_LABELS,
    "facts": AGGRAVATING_LABELS,
    "fields": FIELD_LABELS,
    "step_fields": STEP_FIELD_LABELS,  # what a correction of a step changed
    "actions": HISTORY_ACTIONS,
    "person_roles": PERSON_ROLE_LABELS,
}


def incident_or_404(incident_id: int) -> tuple[Incident, access.View]:
    """The incident, if the current user may see it; otherwise 404 (no hint it exists)."""
    incident = queries.incident_with_details(incident_id)
    view = access.incident_view(current_user, incident) if incident is not None else None
    if incident is None or view is None:
        abort(404)
    return incident, view


def _fresh_form_redirect(endpoint: str, token: str, **keep: Any) -> ResponseReturnValue | None:
    """Each form carries its submission token in its address, so that going back to it (pages
    are never cached) shows the same token again and a second submit finds the first incident.
    A form without a token gets one, with the query arguments in `keep`; a used token leads
    to what it made."""
    if not 16 <= len(token) <= 64:
        return redirect(fresh_form_url(endpoint, **keep))
    made = services.incident_by_token(token)
    if made is None:
        return None
    if made.reporter_id != current_user.id:
        return redirect(fresh_form_url(endpoint, **keep))
    if made.is_draft:
        return redirect(url_for("reporting.edit", incident_id=made.id))
    return redirect(url_for("reporting.detail", incident_id=made.id))


def _token(form: ReportForm | QuickLogForm) -> str:
    """The form's submission token; a form without one was not made by us (400)."""
    token = form.submission_token.data or ""
    if not 16 <= len(token) <= 64:
        abort(400)
    return token


def _searching(form: ReportForm) -> bool:
    """A search button of a colleague list was pressed (no JavaScript): the form comes back
    with the matches and everything filled in so far; nothing is saved."""
    colleagues = form.searched_list()
    if colleagues is None:
        return False
    form.show_matches(colleagues)
    return True


@bp.route("/colleagues")
@roles(*REPORTERS)
def colleagues() -> ResponseReturnValue:
    """At most 20 active colleagues whose name or team contains `q`, for the picker."""
    matches = queries.colleague_search(
        request.args.get("q", ""), exclude=[current_user.id], locale=select_locale()
    )
    response = jsonify(colleagues=[{"id": c.id, "name": c.name, "team": c.team} for c in matches])
    # Names of staff: not for shared caches, and not kept by the browser after logout.
    response.headers["Cache-Control"] = "no-store"
    return response


def _saved(incident: Incident, submitted: bool) -> ResponseReturnValue:
    if submitted:
        flash(_("Thank you. Your report has been received."), "success")
        return redirect(url_for("reporting.detail", incident_id=incident.id))
    flash(_("Draft saved. It starts nothing until you submit it."), "success")
    return redirect(url_for("reporting.edit", incident_id=incident.id))


def all_files_bytes(config: dict[str, int]) -> int:
    """A report or an incident page may send every file it may hold at once."""
    return int(config["EVIDENCE_MAX_FILES"]) * int(config["EVIDENCE_MAX_BYTES"])


@bp.route("/new", methods=["GET", "POST"])
@roles(*REPORTERS)
@accepts_file(all_files_bytes)
def new() -> ResponseReturnValue:
    form = ReportForm(reporter=current_user)
    if request.method == "GET":
        token = request.args.get("t", "")
        redirect_to = _fresh_form_redirect("reporting.new", token)
        if redirect_to is not None:
            return redirect_to
        form.submission_token.data = token
        form.occurred_at.data = local_now()
    elif _searching(form):
        pass
    elif form.validate_on_submit():
        submit = not form.save_draft.data
        try:
            with still_loaded():
                incident = services.save_report(
                    current_user,
                    _token(form),
                    form.report_data(),
                    submit=submit,
                    evidence=uploads(form.files),
                )
        except ServiceError as error:
            db.session.rollback()
            show_service_error(form, error)
        else:
            return _saved(incident, not incident.is_draft)
    return render_template("reporting/form.html", form=form, incident=None, labels=LABELS)


@bp.route("/<int:incident_id>/edit", methods=["GET", "POST"])
@roles(*REPORTERS)
def edit(incident_id: int) -> ResponseReturnValue:
    """Complete a draft, or add information to a submitted incident."""
    incident, view = incident_or_404(incident_id)
    if not access.can_edit(current_user, incident):
        abort(404)
    if request.method == "GET":
        page = _edit_page(ReportForm.for_incident(incident, editor=current_user), incident)
        # Recorded after rendering: the commit would expire what the page still needs.
        audit_log.record_view(
            current_user, AuditAction.INCIDENT_VIEW_EDIT, incident, view=view.value
        )
        return page
    else:
        form = ReportForm(reporter=incident.reporter, editor=current_user)
        if not _searching(form) and form.validate_on_submit():
            try:
                if incident.is_draft:
                    submit = not form.save_draft.data
                    services.complete_draft(
                        current_user,
                        incident,
                        form.report_data(),
                        submit=submit,
                        version=form.form_version(),
                    )
                    return _saved(incident, submit)
                changed = services.amend_report(
                    current_user, incident, form.report_data(), form.form_version()
                )
            except StaleEdit as stale:
                return _stale_page(stale, incident)
            except ServiceError as error:
                show_service_error(form, error)
            else:
                flash(
                    _("Your additions have been saved.") if changed else _("Nothing was changed."),
                    "success",
                )
                return redirect(url_for("reporting.detail", incident_id=incident.id))
    return _edit_page(form, incident)


def _stale_page(stale: StaleEdit, incident: Incident) -> str:
    """Someone saved the report while this form was open: say who changed what, and show
    the report as it is now (nothing of this form was saved)."""
    flash(stale.message, "error")
    for change in stale.changes:
        fields = ", ".join(str(FIELD_LABELS.get(name, name)) for name in change.fields)
        flash(
            _(
                "%(name)s, %(time)s: %(fields)s",
                name=change.name or _("someone"),
                time=format_moment(change.at),
                fields=fields or _("no fields"),
            ),
            "error",
        )
    if not access.can_edit(current_user, incident):
        abort(404)
    return _edit_page(ReportForm.for_incident(incident, editor=current_user), incident)


def _edit_page(form: ReportForm, incident: Incident) -> str:
    return render_template(
        "reporting/form.html", form=form, incident=incident, labels=LABELS, discard=ConfirmForm()
    )


@bp.route("/<int:incident_id>/discard", methods=["POST"])
@roles(*REPORTERS)
def discard(incident_id: int) -> ResponseReturnValue:
    incident, _view = incident_or_404(incident_id)
    if not access.can_discard(current_user, incident):
        abort(404)
    services.discard_draft(current_user, incident)
    flash(_("The draft has been discarded."), "success")
    return redirect(url_for("reporting.mine"))


@bp.route("/quick", methods=["GET", "POST"])
@roles(*REPORTERS)
def quick() -> ResponseReturnValue:
    """The quick log. `?at=<code>` comes from a location's poster (its QR code): the location
    and its channel are filled in. A code that is unknown or archived fills in nothing."""
    form = QuickLogForm()
    poster_code = request.args.get("at")
    poster: Location | None = None
    if request.method == "GET":
        token = request.args.get("t", "")
        code = normalised_location_code(poster_code or "")
        keep = {"at": code} if code else {}
        redirect_to = _fresh_form_redirect("reporting.quick", token, **keep)
        if redirect_to is not None:
            return redirect_to
        form.submission_token.data = token
        poster = queries.active_location(poster_code) if poster_code else None
        if poster is not None:
            form.channel.data = poster.channel.value
            form.location.data = poster.name
    elif form.validate_on_submit():
        try:
            with still_loaded():
                incident = services.quick_log(
                    current_user,
                    _token(form),
                    IncidentType(form.type.data),
                    Channel(form.channel.data),
                    form.note.data or "",
                    location=form.location.data or "",
                    occurred_at=form.occurred_at(),
                )
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(_("Logged. Thank you: every report helps."), "success")
            return redirect(url_for("reporting.detail", incident_id=incident.id))
    return render_template(
        "reporting/quick.html",
        form=form,
        labels=LABELS,
        poster=poster,
        unknown_poster=request.method == "GET" and bool(poster_code) and poster is None,
    )


@bp.route("")
@roles(*REPORTERS)
def mine() -> ResponseReturnValue:
    """The incidents I reported, that affect me, or that I witnessed; and my drafts."""
    after = page_cursor()
    incidents, more = queries.my_incidents_page(current_user, after)
    drafts = queries.my_drafts(current_user, with_details=True)
    return render_template(
        "reporting/list.html",
        incidents=incidents,
        drafts=drafts,
        parts={i.id: _my_part(i) for i in (*drafts, *incidents)},
        more=more,
        paged=after is not None,
        page_size=queries.MY_INCIDENTS_PAGE,
        labels=LABELS,
    )


def _my_part(incident: Incident) -> list[tuple[PersonRole, bool]]:
    """The current user's roles in an incident, each with whether someone else reported it
    for them (they are affected, and not the reporter)."""
    reported_by_me = incident.reporter_id == current_user.id
    return [
        (p.role, p.role == PersonRole.AFFECTED and not reported_by_me)
        for p in incident.people
        if p.user_id == current_user.id
    ]


def _people(incident: Incident, role: PersonRole) -> list[User]:
    return [p.user for p in incident.people_in(role)]


def _tracks(steps: list[AftercareStep]) -> list[tuple[User | None, str, int]]:
    """Per person (and the incident as a whole): how many steps are still open."""
    tracks: dict[tuple[int | None, str], tuple[User | None, str, int]] = {}
    for step in steps:
        key = (step.subject_user_id, step.subject)
        person, subject, open_count = tracks.get(key, (step.subject_user, step.subject, 0))
        tracks[key] = (person, subject, open_count + int(step.is_open))
    return list(tracks.values())


def _your_aftercare(
    incident: Incident, register: list[Measure], affected: bool
) -> victim_view.YourAftercare:
    """The current user's own aftercare on `incident`, in plain words; for an affected
    employee also the measures of the `register` in force that protect them."""
    today = measures.today()
    protections, registered = measures.protecting(register, today) if affected else ([], set())
    return victim_view.your_aftercare(
        access.own_aftercare_steps(current_user, incident),
        viewer_id=current_user.id,
        now=utcnow(),
        today=today,
        moment=lambda moment: format_moment(moment, "short"),
        day=format_day,
        protections=protections,
        registered_steps=registered,
    )


@bp.route("/<int:incident_id>")
@roles(*REPORTERS)
def detail(incident_id: int) -> ResponseReturnValue:
    incident, view = incident_or_404(incident_id)
    return detail_page(incident, view)


def detail_page(incident: Incident, view: access.View, **forms: Any) -> str:
    """The incident page, audited; `forms`: the evidence forms with their errors, if any."""
    steps = access.visible_steps(current_user, incident, view)
    full = view == access.View.FULL
    is_manager = current_user.role == Role.MANAGER
    # Managers running someone's aftercare keep the table of steps; the employee (affected,
    # a witness, or a reporter who was affected) reads their own part in plain words.
    manages = is_manager and any(s.subject_user_id != current_user.id for s in steps)
    evidence = access.can_see_evidence(current_user, incident)
    # The register's measures on this incident: for those who may propose one (the list and
    # the link), and for an affected employee (what protects them, in plain words).
    may_propose = access.may_propose_measure(current_user, incident)
    affected = any(p.user_id == current_user.id for p in incident.people_in(PersonRole.AFFECTED))
    register = (
        measures.measures_of_incident(incident)
        if (may_propose or affected) and not incident.is_draft
        else []
    )
    page = render_template(
        "reporting/detail.html",
        tracks=_tracks(steps) if manages else [],
        your_aftercare=_your_aftercare(incident, register, affected),
        measures_here=measures.on_incident(
            current_user, register, url_for("measures.propose", incident=incident.number)
        )
        if may_propose
        else None,
        incident=incident,
        full=full,
        is_witness=any(
            p.user_id == current_user.id for p in incident.people_in(PersonRole.WITNESS)
        ),
        # Who else was involved: only for those who see the whole incident.
        affected=_people(incident, PersonRole.AFFECTED) if full else [],
        witnesses=_people(incident, PersonRole.WITNESS) if full else [],
        show_protocol_rule=is_manager,
        link_steps=is_manager,
        can_edit=access.can_edit(current_user, incident),
        steps=steps if manages else [],
        labels=LABELS,
        step_labels=step_labels(),
        now=utcnow(),
        evidence=incident.attachments if evidence else None,
        evidence_form=forms.get("evidence_form") or EvidenceForm(formdata=None),
        remove_form_for=lambda a: (
            forms["remove_form"]
            if forms.get("removing") == a.id
            else RemoveEvidenceForm(formdata=None, prefix=f"remove-{a.id}")
        ),
        manage_evidence=evidence and access.can_manage_evidence(current_user, incident),
        can_remove=lambda a: access.can_remove_evidence(current_user, a),
    )
    # Recorded after rendering: the commit would expire what the page still needs.
    audit_log.record_view(current_user, AuditAction.INCIDENT_VIEW, incident, view=view.value)
    return page
