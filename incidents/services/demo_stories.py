"""The demo's stories: who went through what in the last months, and what their managers
did about it, scene by scene (`demo_incidents` writes them through the services).

The people and places are invented; the situations are the ones the protocol is for. Each
story gives its moments relative to today, so the demo always shows the last four months.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from incidents import rules
from incidents.extensions import current_protocol, db
from incidents.models import Channel, Incident, IncidentType, PerpetratorKnown, User
from incidents.services import reporting

if TYPE_CHECKING:
    from incidents.services.demo_incidents import StoryWriter

Outcome = rules.Outcome
DEMO_STORY_MONTHS = 4

# --- The stories ------------------------------------------------------------------------------
# Each returns nothing; its token (or alarm event id) marks it as written.


def _counter_shouting(s: StoryWriter, token: str) -> None:
    """Level 1, done and closed: a client shouts at Eva at the counter."""
    c = s.cast
    occurred = s.day(112, 10, 40)
    incident = s.report(
        token,
        c.eva,
        occurred + timedelta(minutes=50),
        occurred=occurred,
        channel=Channel.COUNTER,
        location="Balie publiekshal",
        types=[IncidentType.VERBAL],
        description=(
            "Een klant werd boos omdat zijn aanvraag bijzondere bijstand nog niet was "
            "behandeld. Hij schreeuwde door de hal dat ik 'er niets van bak' en sloeg met zijn "
            "vlakke hand op de balie. Na tien minuten ging hij weg."
        ),
        affected=[c.eva],
    )
    s.held(c.mira, incident, "contact", s.office(occurred, days=1), c.eva)


def _physical_at_counter(s: StoryWriter, token: str) -> None:
    """Level 3, every step done, closed: Eva pushed at the counter, Wim saw it; the employer
    filed the police report (number and outcome known), a building ban in force: in the
    register, proposed by Mira from the response step, the client heard, approved by the
    security officer, the notice letter sent."""
    c = s.cast
    occurred = s.day(96, 14, 20)
    incident = s.report(
        token,
        c.eva,
        occurred + timedelta(hours=2),
        occurred=occurred,
        channel=Channel.COUNTER,
        location="Balie publiekshal",
        types=[IncidentType.PHYSICAL, IncidentType.VERBAL],
        description=(
            "Een klant die geen afspraak had wilde per se vandaag geholpen worden. Toen ik "
            "zei dat dat niet kon, kwam hij achter de balie, greep mijn arm en duwde mij "
            "tegen de kast. Wim kwam erbij en de beveiliging heeft de politie gebeld. Mijn "
            "arm is blauw; ik ben na een uur weer aan het werk gegaan."
        ),
        affected=[c.eva],
        witnesses=(c.wim,),
        injury=True,
        police_called=True,
        police_report_wanted=True,
        perpetrator_known=PerpetratorKnown.KNOWN,
        perpetrator_name="R. Brouwer",
        perpetrator_reference="klantdossier 20417",
        outside_witnesses="Twee wachtende bezoekers; de beveiliger van de publiekshal.",
    )
    # Mira was on a course that afternoon: her deputy Max called Eva.
    s.held(
        c.max,
        incident,
        "contact",
        occurred + timedelta(hours=3),
        c.eva,
        note="Telefonisch gesproken; Eva gaat morgen gewoon werken.",
    )
    police = s.record(
        c.mira,
        incident,
        "police_report",
        s.office(occurred, days=1, hours=-5),
        [Outcome.FILED_BY_EMPLOYER],
        reference="PL0900-2026061734",
    )
    ban_until = s.local_date(s.now) + timedelta(days=240)
    s.record(
        c.mira,
        incident,
        "perpetrator_response",
        s.office(occurred, days=2, hours=-4),
        [Outcome.BUILDING_BAN, Outcome.WARNING_LETTER],
        end_date=ban_until,
        citizen_heard=True,
        reason="Toegangsverbod voor alle gemeentelijke gebouwen; brief aangetekend verstuurd.",
    )
    ban = s.propose(
        c.mira,
        incident,
        s.office(occurred, days=2, hours=-3),
        "building_ban",
        citizen_name="R. Brouwer",
        citizen_reference="klantdossier 20417",
        reason="Greep een medewerker aan de balie bij de arm en duwde haar tegen een kast.",
        ends_on=ban_until,
        from_step=True,
    )
    s.hearing(c.mira, ban, s.office(occurred, days=2, hours=-2), "phone")
    s.approve(c.officer, ban, s.office(occurred, days=3, hours=-6))
    s.notice_sent(c.mira, ban, s.office(occurred, days=3, hours=-5), "post")
    s.held(c.mira, incident, "aftercare_conversation", s.office(occurred, days=2), c.eva)
    s.record(
        c.max,
        incident,
        "witness_aftercare_conversation",
        s.office(occurred, days=2, hours=-1),
        [Outcome.DECLINED],
        c.wim,
    )
    s.record(
        c.mira,
        incident,
        "referral_decision",
        s.office(occurred, days=6),
        [Outcome.VICTIM_SUPPORT, Outcome.SOCIAL_WORK],
        c.eva,
    )
    s.held(c.mira, incident, "team_evaluation", s.office(occurred, days=12))
    # What the team agreed at the evaluation: one done and found to work, one done and
    # waiting for its review.
    button = s.action(
        c.mira,
        incident,
        s.office(occurred, days=12, hours=1),
        "Een paniekknop onder de balie van de publiekshal, die bij de beveiliging afgaat.",
        c.mira,
        s.local_date(occurred) + timedelta(days=30),
        "RI&E 4.2",
    )
    s.close_action(
        c.mira,
        button,
        s.office(occurred, days=25),
        "Knop geplaatst en met de beveiliging getest; het team weet hoe hij werkt.",
        review_months=1,
    )
    s.review_action(c.mira, button, s.office(occurred, days=60), "worked")
    appointments = s.action(
        c.mira,
        incident,
        s.office(occurred, days=12, hours=2),
        "Bezoekers zonder afspraak worden aan de balie geholpen, nooit achter de balie.",
        c.max,
        s.local_date(occurred) + timedelta(days=45),
    )
    s.close_action(
        c.max,
        appointments,
        s.office(occurred, days=40),
        "Werkinstructie aangepast en in het teamoverleg besproken.",
    )
    s.held(c.mira, incident, "follow_up_conversation", s.office(occurred, days=13), c.eva)
    # Offered again after two weeks: now Wim wanted to talk.
    s.held(c.max, incident, "witness_aftercare_conversation", s.office(occurred, days=16), c.wim)
    s.police_outcome(
        c.mira,
        police,
        s.office(occurred, days=38),
        "Verdachte gedagvaard; de politierechter legde een taakstraf van 60 uur op.",
    )
    s.held(
        c.mira,
        incident,
        "closing_conversation",
        s.office(occurred, days=41),
        c.eva,
        note="Eva voelt zich weer veilig aan de balie; nazorg afgesloten.",
    )


def _damage_at_kiosk(s: StoryWriter, token: str) -> None:
    """Level 2, done and closed: a damage case at the front office; the police report's
    outcome is not known yet."""
    c = s.cast
    joost = c.named["joost.bakker@demo.test"]
    occurred = s.day(82, 15, 30)
    incident = s.report(
        token,
        joost,
        occurred + timedelta(hours=1),
        occurred=occurred,
        channel=Channel.COUNTER,
        location="Publiekshal, afsprakenzuil",
        types=[IncidentType.DAMAGE, IncidentType.VERBAL],
        description=(
            "Een bezoeker kon geen afspraak voor een paspoort maken en trapte de afsprakenzuil "
            "kapot. Daarna gooide hij een stoel tegen de glazen wand van de balie en riep dat "
            "wij 'allemaal hetzelfde' zijn. Niemand is geraakt; de glazen wand is gebarsten."
        ),
        affected=[joost],
        damage=True,
        police_called=True,
        police_report_wanted=True,
        perpetrator_known=PerpetratorKnown.KNOWN,
        perpetrator_reference="camerabeelden publiekshal, 15:31",
    )
    s.held(c.mira, incident, "contact", occurred + timedelta(hours=1, minutes=30), joost)
    s.record(
        c.mira,
        incident,
        "police_report",
        s.office(occurred, days=1),
        [Outcome.FILED_BY_EMPLOYER],
        reference="PL0900-2026072019",
    )
    s.held(c.mira, incident, "aftercare_conversation", s.office(occurred, days=2), joost)
    s.record(
        c.mira,
        incident,
        "perpetrator_response",
        s.office(occurred, days=4),
        [Outcome.WARNING_LETTER, Outcome.CONVERSATION],
    )
    s.held(c.mira, incident, "follow_up_conversation", s.office(occurred, days=14), joost)


def _home_visit_intimidation(s: StoryWriter, token: str) -> None:
    """Level 3, partly done: Wim intimidated on a home visit; the follow-up not reached twice,
    the referral and closing conversation overdue. In the register: conversations with the
    resident only with two colleagues present, in force (approved by the security officer)."""
    c = s.cast
    ahmed = c.named["ahmed.elamrani@demo.test"]
    occurred = s.day(68, 11, 5)
    incident = s.report(
        token,
        c.wim,
        occurred + timedelta(hours=3),
        occurred=occurred,
        channel=Channel.HOME_VISIT,
        location="Huisbezoek Molenwijk",
        types=[IncidentType.INTIMIDATION, IncidentType.THREAT],
        description=(
            "Bij een controle op het woonadres ging de bewoner in de deuropening staan zodat "
            "wij niet weg konden, kwam met zijn gezicht vlak bij het mijne en zei: 'Ik weet "
            "waar jij woont, ik zie je kinderen wel eens op het schoolplein.' Ahmed heeft het "
            "gesprek beëindigd en we zijn weggegaan."
        ),
        affected=[c.wim],
        witnesses=(ahmed,),
        threat_home=True,
        police_report_wanted=True,
        perpetrator_known=PerpetratorKnown.KNOWN,
        perpetrator_name="K. de Wit",
        perpetrator_reference="handhavingsdossier 2026-0388",
    )
    s.held(c.max, incident, "contact", occurred + timedelta(hours=4), c.wim)
    s.record(
        c.max,
        incident,
        "police_report",
        s.office(occurred, days=1),
        [Outcome.FILED_BY_EMPLOYEE],
        reference="PL0900-2026083350",
        note="Wim deed zelf aangifte op het bureau; domicilie van de gemeente gebruikt.",
    )
    s.held(c.max, incident, "aftercare_conversation", s.office(occurred, days=2), c.wim)
    for days in (2, 4):
        s.record(
            c.max,
            incident,
            "witness_aftercare_conversation",
            s.office(occurred, days=days, hours=1),
            [Outcome.NOT_REACHED],
            ahmed,
        )
    s.held(c.max, incident, "witness_aftercare_conversation", s.office(occurred, days=6), ahmed)
    s.record(
        c.max,
        incident,
        "perpetrator_response",
        s.office(occurred, days=3),
        [Outcome.WARNING_LETTER],
    )
    two = s.propose(
        c.max,
        incident,
        s.office(occurred, days=3, hours=1),
        "two_colleagues",
        citizen_name="K. de Wit",
        citizen_reference="handhavingsdossier 2026-0388",
        reason="Dreigde een handhaver bij een huisbezoek met wat hij zijn kinderen zou aandoen.",
        days=180,
        from_step=True,
    )
    s.approve(c.officer, two, s.office(occurred, days=4))
    s.notice_sent(c.max, two, s.office(occurred, days=4, hours=1), "post")
    s.held(c.max, incident, "team_evaluation", s.office(occurred, days=13))
    # Agreed at the evaluation, still open.
    s.action(
        c.max,
        incident,
        s.office(occurred, days=13, hours=1),
        "Huisbezoeken bij adressen met een waarschuwing voortaan met z'n tweeën.",
        c.max,
        s.local_date(s.now) + timedelta(days=14),
        "RI&E 6.1",
    )
    for days in (14, 16):
        s.record(
            c.max,
            incident,
            "follow_up_conversation",
            s.office(occurred, days=days),
            [Outcome.NOT_REACHED],
            c.wim,
            note="Voicemail ingesproken.",
        )


def _phone_threat(s: StoryWriter, token: str) -> None:
    """Level 2: a threat on the phone to Eva; no police report, the conversation declined and
    offered again (open, not yet due), the follow-up open."""
    c = s.cast
    occurred = s.day(12, 9, 50)
    incident = s.report(
        token,
        c.eva,
        occurred + timedelta(minutes=30),
        occurred=occurred,
        channel=Channel.PHONE,
        location="Telefonisch spreekuur",
        types=[IncidentType.THREAT],
        description=(
            "Een beller met een afgeschermd nummer zei: 'Als mijn uitkering morgen niet op "
            "mijn rekening staat, kom ik langs en dan zul je het merken.' Hij noemde mijn "
            "voornaam en hing daarna op."
        ),
        affected=[c.eva],
    )
    s.held(c.mira, incident, "contact", occurred + timedelta(hours=2), c.eva)
    s.record(
        c.mira,
        incident,
        "police_report",
        s.office(occurred, days=1),
        [Outcome.NOT_FILED],
        reason="Beller niet te herleiden; Eva ziet na overleg af van aangifte.",
    )
    s.record(
        c.mira,
        incident,
        "perpetrator_response",
        s.office(occurred, days=1, hours=1),
        [Outcome.NONE],
        reason="De beller is onbekend.",
    )
    s.record(
        c.mira,
        incident,
        "aftercare_conversation",
        s.office(occurred, days=2),
        [Outcome.DECLINED],
        c.eva,
        note="Eva wil er nu liever niet over praten; over twee weken bied ik het opnieuw aan.",
    )


def _online_abuse(s: StoryWriter, token: str) -> None:
    """Level 2, overdue: Sanne's photo posted with racist abuse; the police report handed to
    Mira (who knows the community officer), the response and follow-up overdue."""
    c = s.cast
    sanne = c.named["sanne.devries@demo.test"]
    occurred = s.day(33, 16, 10)
    incident = s.report(
        token,
        sanne,
        s.office(occurred, days=1, hours=-7),
        occurred=occurred,
        channel=Channel.SOCIAL_MEDIA,
        location="Facebookgroep van de wijk",
        types=[IncidentType.ONLINE, IncidentType.DISCRIMINATION],
        description=(
            "Na een controle op de markt plaatste een inwoner een foto van mij met mijn naam "
            "in de Facebookgroep van de wijk, met racistische opmerkingen en de oproep 'die "
            "moeten we eens opwachten na haar dienst'. Er kwamen tientallen reacties op."
        ),
        affected=[sanne],
        police_report_wanted=True,
        perpetrator_known=PerpetratorKnown.KNOWN,
        perpetrator_name="profiel 'WijkWaakt'",
    )
    reported = incident.submitted_at or occurred
    s.held(c.max, incident, "contact", reported + timedelta(hours=1), sanne)
    s.hand(c.max, s.step(incident, "police_report"), c.mira, reported + timedelta(hours=2))
    s.held(c.max, incident, "aftercare_conversation", s.office(reported, days=3), sanne)


def _assault_on_home_visit(s: StoryWriter, token: str) -> None:
    """Level 4: Ahmed pushed down the stairs on a home visit, a night in hospital; Max reported
    it for him. The Labour Inspectorate told, the police report filed (outcome known), a
    building ban; the team evaluation overdue, the closing conversation still to come."""
    c = s.cast
    ahmed = c.named["ahmed.elamrani@demo.test"]
    occurred = s.day(26, 10, 30)
    incident = s.report(
        token,
        c.max,
        occurred + timedelta(hours=5),
        occurred=occurred,
        channel=Channel.HOME_VISIT,
        location="Huisbezoek Parkstraat",
        types=[IncidentType.PHYSICAL, IncidentType.THREAT],
        description=(
            "Tijdens een huisbezoek over een melding van onrechtmatige bewoning werd de "
            "bewoner woedend. Toen Ahmed wegging duwde de bewoner hem van de trap. Ahmed heeft "
            "gekneusde ribben en een hoofdwond en bleef een nacht in het ziekenhuis. Wim was "
            "erbij en belde 112."
        ),
        affected=[ahmed],
        witnesses=(c.wim,),
        injury=True,
        hospital=True,
        absence=True,
        police_called=True,
        police_report_wanted=True,
        perpetrator_known=PerpetratorKnown.KNOWN,
        perpetrator_reference="handhavingsdossier 2026-0512",
    )
    s.held(
        c.max,
        incident,
        "contact",
        occurred + timedelta(hours=6),
        ahmed,
        note="In het ziekenhuis bezocht.",
    )
    s.record(
        c.max,
        incident,
        "labour_inspectorate",
        s.office(occurred, days=1),
        [Outcome.REPORTED],
        held_on=s.local_date(s.office(occurred, days=1)),
        reference="NLA-2026-118342",
    )
    s.record(
        c.max,
        incident,
        "referral_decision_at_once",
        s.office(occurred, days=1, hours=1),
        [Outcome.OCCUPATIONAL_PHYSICIAN, Outcome.VICTIM_SUPPORT],
        ahmed,
    )
    police = s.record(
        c.max,
        incident,
        "police_report",
        s.office(occurred, days=1, hours=2),
        [Outcome.FILED_BY_EMPLOYER],
        reference="PL0900-2026104471",
    )
    s.held(c.max, incident, "witness_aftercare_conversation", s.office(occurred, days=3), c.wim)
    s.held(c.max, incident, "aftercare_conversation", s.office(occurred, days=4), ahmed)
    s.record(
        c.max,
        incident,
        "perpetrator_response",
        s.office(occurred, days=5),
        [Outcome.BUILDING_BAN, Outcome.WARNING_LETTER],
        end_date=s.local_date(s.now) + timedelta(days=340),
        citizen_heard=True,
        reason="Toegangsverbod voor het stadskantoor; huisbezoeken alleen nog met de politie.",
    )
    s.held(c.max, incident, "follow_up_conversation", s.office(occurred, days=15), ahmed)
    s.police_outcome(
        c.max,
        police,
        s.office(occurred, days=19),
        "Verdachte aangehouden en verhoord; de zaak ligt bij het Openbaar Ministerie.",
    )


def _pushed_after_all(s: StoryWriter, token: str) -> None:
    """Level 1 raised to 3: Linda reported verbal aggression and added the next day that she
    was pushed; some steps done, some overdue, the closing conversation to come. Two days ago
    Mira proposed contact by phone or in writing only: waiting for approval."""
    c = s.cast
    linda = c.named["linda.jansen@demo.test"]
    occurred = s.day(19, 13, 15)
    data: dict[str, Any] = {
        "occurred_at": occurred,
        "channel": Channel.INTERVIEW_ROOM,
        "location": "Spreekkamer 2",
        "affected_ids": [linda.id],
        "perpetrator_known": PerpetratorKnown.KNOWN,
        "perpetrator_name": "H. Mulder",
        "perpetrator_reference": "klantdossier 31877",
    }
    first = (
        "Cliënt werd boos toen ik vertelde dat zijn uitkering wordt teruggevorderd. Hij "
        "schold mij uit en liep weg."
    )
    incident = s.report(
        token,
        linda,
        occurred + timedelta(hours=1),
        occurred=occurred,
        channel=Channel.INTERVIEW_ROOM,
        location="Spreekkamer 2",
        types=[IncidentType.VERBAL],
        description=first,
        affected=[linda],
        perpetrator_known=PerpetratorKnown.KNOWN,
        perpetrator_name="H. Mulder",
        perpetrator_reference="klantdossier 31877",
    )
    s.held(c.mira, incident, "contact", occurred + timedelta(hours=3), linda)
    s.at(s.office(occurred, days=1, hours=-4))
    incident = db.session.get(Incident, incident.id) or incident
    reporting.amend_report(
        linda,
        incident,
        reporting.ReportData(
            types=[IncidentType.VERBAL, IncidentType.PHYSICAL],
            description=first
            + " Wat ik gisteren niet durfde te schrijven: bij de deur gaf hij mij een harde "
            "duw, waardoor ik tegen de deurpost viel.",
            **data,
        ),
        incident.version,
    )
    db.session.refresh(incident)
    s.record(
        c.mira,
        incident,
        "police_report",
        s.office(occurred, days=2),
        [Outcome.NOT_FILED],
        reason="Linda wil geen aangifte; wel een waarschuwingsbrief aan de cliënt.",
    )
    s.record(
        c.mira,
        incident,
        "perpetrator_response",
        s.office(occurred, days=2, hours=1),
        [Outcome.WARNING_LETTER],
    )
    s.held(c.mira, incident, "aftercare_conversation", s.office(occurred, days=3), linda)
    s.record(
        c.mira,
        incident,
        "referral_decision",
        s.office(occurred, days=3, hours=1),
        [Outcome.NONE_NEEDED],
        linda,
    )
    s.propose(
        c.mira,
        incident,
        s.office(s.day(2, 11)),
        "written_contact",
        citizen_name="H. Mulder",
        citizen_reference="klantdossier 31877",
        reason="Duwde een medewerker in de spreekkamer tegen de deurpost.",
        days=180,
    )


def _alarm_completed(s: StoryWriter, token: str) -> None:
    """An alarm in the interview room, completed as a report the next day; closed."""
    c = s.cast
    kees = c.named["kees.visser@demo.test"]
    triggered = s.day(50, 11, 25)
    draft = s.alarm(token, kees, triggered, "Spreekkamer 2")
    s.held(c.mira, draft, "contact", triggered + timedelta(minutes=40), kees)
    s.at(s.office(triggered, days=1))
    reporting.complete_draft(
        kees,
        db.session.get(Incident, draft.id) or draft,
        reporting.ReportData(
            occurred_at=triggered,
            channel=Channel.INTERVIEW_ROOM,
            location="Spreekkamer 2",
            types=[IncidentType.INTIMIDATION, IncidentType.VERBAL],
            description=(
                "Cliënt sprong op, schoof de tafel naar mij toe en bleef dreigend over mij "
                "heen staan. Ik heb de alarmknop ingedrukt; de beveiliging was er binnen een "
                "minuut."
            ),
            affected_ids=[kees.id],
        ),
        submit=True,
        version=None,
    )


def _alarm_draft(s: StoryWriter, token: str) -> None:
    """An alarm three days ago: Mira already called Fatma, the report is still a draft."""
    c = s.cast
    fatma = c.named["fatma.yilmaz@demo.test"]
    triggered = s.day(3, 15, 45)
    draft = s.alarm(token, fatma, triggered, "Spreekkamer 2")
    s.held(c.mira, draft, "contact", triggered + timedelta(minutes=30), fatma)


def _draft(s: StoryWriter, token: str) -> None:
    """Eva started a report yesterday and did not finish it."""
    c = s.cast
    started = s.now - timedelta(hours=26)
    s.report(
        token,
        c.eva,
        started,
        occurred=started - timedelta(hours=2),
        channel=Channel.INTERVIEW_ROOM,
        location="Spreekkamer 1",
        types=[],
        description="Cliënt bleef na het gesprek in de wachtruimte zitten en ",
        affected=[c.eva],
        submit=False,
    )


def _quick_log_today(s: StoryWriter, token: str) -> None:
    """Eva logged a scolding a little while ago: the contact step is Mira's, still to do (due
    at the end of the working day, so logged less long ago late in the afternoon)."""
    c = s.cast
    calendar = current_protocol().calendar
    candidates = [s.now - timedelta(minutes=m) for m in (120, 30, 3)]
    logged = next(
        (m for m in candidates if rules.due_at(m, "end_of_working_day", calendar) > s.now),
        candidates[-1],
    )
    s.quick(
        token,
        c.eva,
        logged,
        IncidentType.VERBAL,
        Channel.COUNTER,
        "Klant schold mij uit omdat de wachtrij te lang was.",
        "Balie publiekshal",
    )


def _overdue_contact(s: StoryWriter, token: str) -> None:
    """A threatening letter to Kees; nobody has called him yet."""
    c = s.cast
    kees = c.named["kees.visser@demo.test"]
    occurred = s.day(6, 10, 0)
    s.report(
        token,
        kees,
        occurred + timedelta(hours=2),
        occurred=occurred,
        channel=Channel.LETTER_EMAIL,
        location="Postkamer",
        types=[IncidentType.VERBAL],
        description=(
            "Per post een brief aan mij persoonlijk met scheldwoorden over de afwijzing van "
            "een aanvraag. Geen afzender."
        ),
        affected=[kees],
    )


STORIES: list[tuple[str, Callable[[StoryWriter, str], None]]] = [
    ("counter-shouting", _counter_shouting),
    ("physical-at-counter", _physical_at_counter),
    ("damage-at-kiosk", _damage_at_kiosk),
    ("home-visit-intimidation", _home_visit_intimidation),
    ("alarm-completed", _alarm_completed),
    ("online-abuse", _online_abuse),
    ("assault-on-home-visit", _assault_on_home_visit),
    ("pushed-after-all", _pushed_after_all),
    ("phone-threat", _phone_threat),
    ("overdue-contact", _overdue_contact),
    ("alarm-draft", _alarm_draft),
    ("draft", _draft),
    ("quick-log-today", _quick_log_today),
]

# Fillers: everyday incidents of the last months, as the protocol's level 1 and 2 bring them.
_FILLERS: list[tuple[list[IncidentType], Channel, str, str]] = [
    (
        [IncidentType.VERBAL],
        Channel.COUNTER,
        "Balie publiekshal",
        "Bezoeker schold mij uit toen ik om zijn identiteitsbewijs vroeg.",
    ),
    (
        [IncidentType.VERBAL],
        Channel.PHONE,
        "",
        "Beller bleef schreeuwen en noemde mij incompetent; ik heb het gesprek beëindigd.",
    ),
    (
        [IncidentType.INTIMIDATION],
        Channel.INTERVIEW_ROOM,
        "Spreekkamer 2",
        "Cliënt sloeg met zijn vuist op tafel en bleef mij strak aankijken.",
    ),
    (
        [IncidentType.VERBAL, IncidentType.INTIMIDATION],
        Channel.PUBLIC_SPACE,
        "Weekmarkt",
        "Marktkoopman riep dat hij mij 'wel zou vinden' toen ik een waarschuwing gaf.",
    ),
    (
        [IncidentType.THREAT],
        Channel.PHONE,
        "",
        "Beller dreigde naar het stadskantoor te komen 'om het even te regelen'.",
    ),
    (
        [IncidentType.VERBAL],
        Channel.LETTER_EMAIL,
        "",
        "E-mail vol scheldwoorden na een besluit over de kwijtschelding.",
    ),
    (
        [IncidentType.DISCRIMINATION],
        Channel.COUNTER,
        "Balie publiekshal",
        "Bezoeker weigerde door mij geholpen te worden en maakte opmerkingen over mijn afkomst.",
    ),
    (
        [IncidentType.INTIMIDATION],
        Channel.HOME_VISIT,
        "Huisbezoek",
        "Bewoner liet de hond los in de gang en lachte toen ik schrok.",
    ),
]
FILLERS = 14


def filler(s: StoryWriter, token: str, rng: random.Random, people: list[User]) -> None:
    """One everyday incident: its steps done when it is older than two weeks, else open."""
    c = s.cast
    types, channel, location, description = rng.choice(_FILLERS)
    victim = rng.choice(people)
    occurred = s.day(
        rng.randint(8, 31 * DEMO_STORY_MONTHS - 5), rng.randint(8, 16), 5 * rng.randint(0, 11)
    )
    incident = s.report(
        token,
        victim,
        occurred + timedelta(minutes=rng.randint(15, 180)),
        occurred=occurred,
        channel=channel,
        location=location,
        types=types,
        description=description,
        affected=[victim],
    )
    if occurred > s.now - timedelta(days=14):
        return
    db.session.refresh(incident)
    team = victim.team
    boss = team.manager if team is not None and team.manager is not None else c.mira
    for step in sorted(incident.steps, key=lambda step: step.due_at):
        # Done on time, mostly: a few hours before the deadline, or on the day after it.
        late = rng.random() < 0.15
        moment = min(step.due_at - timedelta(hours=3), occurred + timedelta(days=13))
        moment = s.office(max(moment, occurred + timedelta(hours=1)), days=1 if late else 0)
        outcomes, fields = _FILLER_OUTCOMES.get(step.kind, ([Outcome.HELD], {}))
        person = victim if step.subject_user_id is not None else None
        s.record(boss, incident, step.definition_id, moment, outcomes, person, **fields)


_FILLER_OUTCOMES: dict[str, tuple[list[str], dict[str, Any]]] = {
    rules.StepKind.POLICE_REPORT: (
        [Outcome.NOT_FILED],
        {"reason": "Besproken met de medewerker: geen aangifte."},
    ),
    rules.StepKind.PERPETRATOR_RESPONSE: ([Outcome.WARNING_LETTER], {}),
}
