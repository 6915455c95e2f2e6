"""The organisational measures: the list, recording and changing one, ending or deleting it,
and its before/after comparison (a page for HR, and its table as CSV).

HR and admins record measures; only HR sees figures, as on the statistics page, and every
request for figures is audited like the statistics' own."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from incidents import access
from incidents.bounds import parse_int
from incidents.csvsafe import csv_text
from incidents.extensions import db
from incidents.forms import show_service_error
from incidents.learning import bp
from incidents.learning.forms import DeleteForm, EndForm, MeasureForm
from incidents.models import AuditAction, OrgMeasure, Role, utcnow
from incidents.security import roles
from incidents.services import ServiceError, learning
from incidents.stats import figures
from incidents.stats import learning as compared
from incidents.stats.periods import COMPARE_MONTHS

KEEPERS = (Role.HR, Role.ADMIN)


bp.add_app_template_global(learning.scope_names, "scope_names")


def _measure_or_404(measure_id: int) -> OrgMeasure:
    measure = db.session.get(OrgMeasure, measure_id)
    if measure is None or not access.may_keep_org_measures(current_user):
        abort(404)
    return measure


def _months() -> int:
    months = parse_int(request.args.get("months", ""))
    return months if months in COMPARE_MONTHS else COMPARE_MONTHS[-1]


@bp.route("/measures")
@roles(*KEEPERS)
def measures() -> ResponseReturnValue:
    if not access.may_keep_org_measures(current_user):
        abort(404)
    return render_template(
        "learning/list.html", measures=learning.all_measures(), today=learning.today()
    )


@bp.route("/measures/new", methods=["GET", "POST"])
@roles(*KEEPERS)
def new() -> ResponseReturnValue:
    if not access.may_keep_org_measures(current_user):
        abort(404)
    form = MeasureForm()
    if form.validate_on_submit():
        try:
            measure = learning.record(current_user, form.data_in())
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(_("The measure is recorded."), "success")
            return redirect(url_for("learning.detail", measure_id=measure.id))
    return render_template("learning/form.html", form=form, measure=None)


@bp.route("/measures/<int:measure_id>/edit", methods=["GET", "POST"])
@roles(*KEEPERS)
def edit(measure_id: int) -> ResponseReturnValue:
    measure = _measure_or_404(measure_id)
    form = MeasureForm()
    if request.method == "GET":
        form.title.data = measure.title
        form.taken_on.data = measure.taken_on
        form.description.data = measure.description
        form.teams.data = [t.id for t in measure.teams]
        form.channels.data = list(measure.channels)
        form.locations.data = [loc.id for loc in measure.locations]
        form.revision.data = str(measure.revision)
    elif form.validate_on_submit():
        try:
            learning.change(current_user, measure.id, form.opened_at(), form.data_in())
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(_("The measure is changed."), "success")
            return redirect(url_for("learning.detail", measure_id=measure.id))
    return render_template("learning/form.html", form=form, measure=measure)


def _comparison(measure: OrgMeasure) -> compared.Comparison | None:
    """The measure's comparison for HR (None for an admin); 404 when deleted meanwhile."""
    if not access.may_compare(current_user):
        return None
    found = learning.shown_comparison(
        current_user, measure, _months(), utcnow(), AuditAction.STATS_VIEW
    )
    if found is None:
        abort(404)
    return found


@bp.route("/measures/<int:measure_id>")
@roles(*KEEPERS)
def detail(measure_id: int) -> ResponseReturnValue:
    measure = _measure_or_404(measure_id)
    comparison = _comparison(measure)
    end_form = EndForm(revision=str(measure.revision), formdata=None)
    end_form.ended_on.data = learning.today()
    return render_template(
        "learning/detail.html",
        measure=measure,
        comparison=comparison,
        compare_months=COMPARE_MONTHS,
        method=compared.method_text(figures.current_k()) if comparison else "",
        today_date=learning.today(),
        k=figures.current_k(),
        end_form=end_form,
        delete_form=DeleteForm(revision=str(measure.revision), formdata=None),
    )


@bp.route("/measures/<int:measure_id>/comparison.csv")
@roles(Role.HR)
def comparison_csv(measure_id: int) -> ResponseReturnValue:
    """The comparison's table, exactly as shown on the measure's page."""
    measure = _measure_or_404(measure_id)
    found = learning.shown_comparison(
        current_user, measure, _months(), utcnow(), AuditAction.STATS_EXPORT
    )
    if found is None or found.table is None:
        abort(404)
    return Response(
        csv_text(found.table.csv_rows(found.k)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": (
                f'attachment; filename="measure-{measure.id}-{found.months}-months.csv"'
            )
        },
    )


@bp.route("/measures/<int:measure_id>/end", methods=["POST"])
@roles(*KEEPERS)
def end(measure_id: int) -> ResponseReturnValue:
    measure = _measure_or_404(measure_id)
    form = EndForm()
    if form.validate_on_submit():
        try:
            learning.end(
                current_user,
                measure.id,
                form.opened_at(),
                form.ended_on.data,
                form.reason.data or "",
            )
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(_("The measure has ended. It stays on record, with its figures."), "success")
            return redirect(url_for("learning.detail", measure_id=measure.id))
    db.session.refresh(measure)
    return render_template(
        "learning/detail.html",
        measure=measure,
        comparison=None,
        compare_months=COMPARE_MONTHS,
        method="",
        today_date=learning.today(),
        k=figures.current_k(),
        end_form=form,
        delete_form=DeleteForm(revision=str(measure.revision), formdata=None),
    ), 400


@bp.route("/measures/<int:measure_id>/delete", methods=["POST"])
@roles(*KEEPERS)
def delete(measure_id: int) -> ResponseReturnValue:
    measure = _measure_or_404(measure_id)
    form = DeleteForm()
    if form.validate_on_submit():
        try:
            learning.delete_measure(current_user, measure.id, form.opened_at())
        except ServiceError as error:
            flash(error.message, "error")
            return redirect(url_for("learning.detail", measure_id=measure_id))
        flash(_("The measure is deleted."), "success")
        return redirect(url_for("learning.measures"))
    abort(400)
