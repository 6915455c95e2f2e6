"""Who may see which incident: the object-level rules, in one place.

- The reporter and the affected employees see the whole incident (the reporter also sees drafts).
- The manager or deputy of an affected employee's team sees the whole incident.
- A colleague witness sees when, where and what, and their own part: not the description,
  the perpetrator or other people.
- Anyone else sees nothing: the incident answers 404, as if it did not exist.
- Evidence (files on an incident) is for those who see the whole incident, and never for a
  witness or an HR employee in that role; the managers of the affected employees (and whoever
  runs the police report) choose files for the police and see kept originals.
The rules hold for every role: an HR employee or an admin who was threatened follows their
own incident and aftercare like anyone else, and sees no other incident.

Only predicates over a user and an object live here; the lists and pages that hold what a
user may see are in `incidents.queries`.
"""

from __future__ import annotations

import enum

from incidents.models import (
    AftercareStep,
    Attachment,
    CorrectiveAction,
    Incident,
    IncidentStatus,
    Measure,
    PersonRole,
    Role,
    Team,
    User,
)
from incidents.rules import StepKind, Subject


class View(enum.Enum):
    """How much of an incident a user may see."""

    FULL = "full"
    WITNESS = "witness"


def incident_view(user: User, incident: Incident) -> View | None:
    """How much of `incident` `user` may see; None: nothing at all."""
    if not user.active or incident.anonymised_at is not None:
        return None  # anonymised incidents are nobody's any more
    if incident.reporter_id == user.id:
        return View.FULL
    if incident.status == IncidentStatus.DRAFT:
        return None
    roles = {p.role for p in incident.people if p.user_id == user.id}
    if PersonRole.AFFECTED in roles:
        return View.FULL
    if _manages_an_affected_person(user, incident):
        return View.FULL
    if PersonRole.WITNESS in roles or any(may_work_on(user, s) for s in incident.steps):
        return View.WITNESS
    return None


def can_edit(user: User, incident: Incident) -> bool:
    """The reporter and the affected employees may complete and add to an incident."""
    if incident.anonymised_at is not None:
        return False
    if incident.reporter_id == user.id:
        return True
    return not incident.is_draft and any(
        p.user_id == user.id and p.role == PersonRole.AFFECTED for p in incident.people
    )


def can_discard(user: User, incident: Incident) -> bool:
    """Only the reporter may throw away a report, and only while it is a draft: submitted
    incidents are never deleted. An alarm's draft has a contact step from the start: once its
    manager recorded anything on it, the draft stays (that aftercare is not thrown away)."""
    return (
        incident.is_draft
        and incident.reporter_id == user.id
        and all(s.is_open and not s.attempts for s in incident.steps)
    )


def _manages_an_affected_person(user: User, incident: Incident) -> bool:
    if user.role != Role.MANAGER:
        return False
    for person in incident.people_in(PersonRole.AFFECTED):
        team = person.user.team
        if team is not None and user.id in (team.manager_id, team.deputy_id):
            return True
    return False


def may_work_on(user: User, step: AftercareStep) -> bool:
    """The step's owner, and the manager or deputy of its team, may complete or hand it."""
    if not user.is_active_manager:
        return False
    if step.owner_id == user.id:
        return True
    return step.team is not None and user.id in (step.team.manager_id, step.team.deputy_id)


def may_correct_step(user: User, step: AftercareStep) -> bool:
    """A recorded step may be corrected by its owner and by the manager who recorded it
    (also a deputy), while they may work on it; not by the team's other manager or deputy,
    and never once the incident lost its personal data. Whether the step is recorded and
    still within the period is the service's rule (`services.aftercare.correction_open`)."""
    if not may_work_on(user, step) or step.incident.anonymised_at is not None:
        return False
    return user.id in (step.owner_id, step.done_by_id)


def visible_steps(user: User, incident: Incident, view: View) -> list[AftercareStep]:
    """The aftercare steps `user` may see on an incident: everything for the managers of the
    affected employees; otherwise their own track and the steps they work on. Never other
    people's tracks."""
    if view == View.FULL and _manages_an_affected_person(user, incident):
        return list(incident.steps)
    return [s for s in incident.steps if s.subject_user_id == user.id or may_work_on(user, s)]


def can_see_evidence(user: User, incident: Incident) -> bool:
    """The files on an incident: for those who see all of it."""
    return incident_view(user, incident) == View.FULL


def can_add_evidence(user: User, incident: Incident) -> bool:
    return can_see_evidence(user, incident)


def can_manage_evidence(user: User, incident: Incident) -> bool:
    """Choose files for the police, download the police bundle, see kept originals: the
    managers of the affected employees, and whoever may work on the police report."""
    if not can_see_evidence(user, incident):
        return False
    return _manages_an_affected_person(user, incident) or any(
        s.kind == StepKind.POLICE_REPORT and may_work_on(user, s) for s in incident.steps
    )


def can_remove_evidence(user: User, attachment: Attachment) -> bool:
    """Whoever added a file, and the managers of the incident."""
    incident = attachment.incident
    if not can_see_evidence(user, incident):
        return False
    return attachment.added_by_id == user.id or can_manage_evidence(user, incident)


def own_aftercare_steps(user: User, incident: Incident) -> list[AftercareStep]:
    """What the employee's own page tells them about (`services.victim_view`): their own
    track; for an affected employee also the steps about the incident as a whole (the police
    report, the measures against the perpetrator), which they may know as they see all of
    it. Never another person's track; a witness gets their own track only."""
    affected = any(p.user_id == user.id and p.role == PersonRole.AFFECTED for p in incident.people)
    return [
        s
        for s in incident.steps
        if s.subject_user_id == user.id
        or (affected and s.subject == Subject.INCIDENT and s.subject_user_id is None)
    ]


# --- measures against perpetrators --------------------------------------------------------------


def may_propose_measure(user: User, incident: Incident) -> bool:
    """A measure rests on incidents its proposer follows: the managers of the affected
    employees, and whoever may work on the incident's response to the perpetrator."""
    if not user.is_active_manager or incident.anonymised_at is not None or incident.is_draft:
        return False
    return _manages_an_affected_person(user, incident) or any(
        s.kind == StepKind.PERPETRATOR_RESPONSE and may_work_on(user, s) for s in incident.steps
    )


def may_see_measure(user: User, measure: Measure) -> bool:
    """A measure's record (the citizen, the reason, its history): security officers, who
    approve measures for the whole organisation; the manager who proposed it; and the
    managers who may propose on one of its incidents. Nobody once it is anonymised; never
    the counter (`may_look_up`) or HR."""
    if not user.active or measure.anonymised_at is not None:
        return False
    if user.security_officer:
        return True
    if not user.is_active_manager:
        return False
    return measure.proposed_by_id == user.id or any(
        may_propose_measure(user, incident) for incident in measure.incidents
    )


def may_manage_measure(user: User, measure: Measure) -> bool:
    """Record the hearing and the notice letter, extend or end it: whoever may see it."""
    return may_see_measure(user, measure)


def may_approve_measure(user: User, measure: Measure) -> bool:
    """A second person approves: a security officer, or another manager who may see it;
    never the one who proposed it, and not the first approver a second time."""
    if user.id in (measure.proposed_by_id, measure.approved_by_id):
        return False
    return may_see_measure(user, measure)


def may_keep_register(user: User) -> bool:
    """The register's pages (the list, proposing): active managers and security officers."""
    return user.active and (user.is_active_manager or user.security_officer)


def may_look_up(user: User) -> bool:
    """The lookup at the counter: employees the admin gave the front-office permission."""
    return user.active and user.front_office


# Organisational measures (learning from incidents)


def may_keep_org_measures(user: User) -> bool:
    """Recording, changing and ending organisational measures: HR and admins."""
    return user.active and user.role in (Role.HR, Role.ADMIN)


def may_compare(user: User) -> bool:
    """A measure's before/after figures: HR, who see the statistics."""
    return user.active and user.role == Role.HR


# --- corrective actions -------------------------------------------------------------------------


def leads_team(user: User, team: Team | None) -> bool:
    """The team's manager or deputy, or the manager of a unit above it (an active manager)."""
    if team is None or not user.is_active_manager:
        return False
    if user.id in (team.manager_id, team.deputy_id):
        return True
    return any(unit.manager_id == user.id for unit in team.ancestors())


def may_create_action(user: User, step: AftercareStep) -> bool:
    """Actions come out of a team evaluation: whoever may work on that step adds them, also
    once the step is recorded (they are often agreed at the meeting itself)."""
    return (
        step.kind == StepKind.TEAM_EVALUATION
        and not step.incident.is_draft
        and step.incident.anonymised_at is None
        and may_work_on(user, step)
    )


def may_see_all_actions(user: User) -> bool:
    """The overview of every action (no incident detail): HR, admins, the works council."""
    return user.active and (user.role in (Role.HR, Role.ADMIN) or user.works_council)


def may_see_action(user: User, action: CorrectiveAction) -> bool:
    """An action's page: its owner, those who lead its team, whoever may work on its step,
    and those who see all actions. Anyone else: 404."""
    if not user.active:
        return False
    return (
        action.owner_id == user.id or may_see_all_actions(user) or may_manage_action(user, action)
    )


def may_manage_action(user: User, action: CorrectiveAction) -> bool:
    """Change the owner or the deadline, cancel: those who lead the action's team, and
    whoever may work on the team evaluation it came from. Not the owner alone: a deadline
    is moved by the one who set it, not by the one who has to meet it."""
    return leads_team(user, action.team) or may_work_on(user, action.step)


def may_close_action(user: User, action: CorrectiveAction) -> bool:
    """Record what was done, and later whether it worked: the owner, and those who lead the
    team (or run its evaluation). HR, admins and the works council only read."""
    return user.active and (action.owner_id == user.id or may_manage_action(user, action))


def may_review_action(user: User, action: CorrectiveAction) -> bool:
    return may_close_action(user, action)


def may_see_team_actions(user: User, team: Team) -> bool:
    """A team's list of actions: those who lead it, and those who see all actions."""
    return user.active and (leads_team(user, team) or may_see_all_actions(user))
