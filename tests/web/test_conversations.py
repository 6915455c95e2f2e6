"""Client conversation counts: the grid form, the CSV upload, bad input, rights and queries."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from flask_babel import force_locale
from sqlalchemy import func, select

from incidents.extensions import db
from incidents.models import AuditEvent, Channel, ConversationCount, Role
from incidents.services import InvalidInput
from incidents.services import conversations as conversation_service
from incidents.services.conversations.csvfile import Finding, Problem
from tests.conftest import form_errors

MONTH = "2025-03"
PAGE = f"/hr/conversations?month={MONTH}"
UPLOAD = f"/hr/conversations/upload?month={MONTH}"
JANUARY = datetime(2026, 1, 15, 12, tzinfo=UTC)


def stored():
    """Every stored count as {(team id, channel, "YYYY-MM"): count}."""
    rows = db.session.execute(
        select(
            ConversationCount.team_id,
            ConversationCount.channel,
            ConversationCount.month,
            ConversationCount.count,
        )
    ).all()
    return {(team, channel, f"{month:%Y-%m}"): count for team, channel, month, count in rows}


def cell(team, channel):
    return f"count-{team.id}-{channel.value}"


def audit_events():
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "conversations.set").order_by(AuditEvent.id)
    ).all()


def upload(client, content, filename="counts.csv", url=UPLOAD):
    """Post `content` as the file. The body is built here, in memory: the test client would
    spool a large body to a temporary file it never closes (a ResourceWarning)."""
    boundary = "----conversation-counts-boundary"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f"{client.csrf_token()}\r\n"
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def rejected_lines(html):
    """(line number, reason) per row of the rejected-lines table."""
    table = html.split("<caption>Rejected lines</caption>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<th scope="row">(\d+)</th><td><code>.*?</code></td><td>(.*?)</td>', table)
    return [(int(number), reason) for number, reason in rows]


@pytest.fixture
def hr(make_user):
    return make_user(Role.HR, locale="en")


@pytest.fixture
def hr_client(login_as, hr):
    return login_as(hr)


@pytest.fixture
def teams(make_team):
    return make_team("Income", name_nl="Inkomen"), make_team("Care", name_nl="Zorg")


# The grid form.


def test_the_page_shows_the_previous_month_by_default(login_as, hr, teams):
    with time_machine.travel(JANUARY, tick=False):
        page = login_as(hr).get("/hr/conversations").text
    assert 'value="2025-12"' in page and "December 2025" in page
    # Every team and channel has a labelled input.
    for team in teams:
        for channel in Channel:
            assert f'<label class="visually-hidden" for="{cell(team, channel)}">' in page
    assert 'class="table-wrap" tabindex="0" role="region" aria-label=' in page


def test_save_then_update_the_counts_of_a_month(hr_client, hr, teams):
    income, care = teams
    response = hr_client.post(
        PAGE,
        data={
            cell(income, Channel.COUNTER): "1200",
            cell(income, Channel.PHONE): "0",
            cell(care, Channel.HOME_VISIT): " 35 ",
        },
    )
    assert response.status_code == 302, form_errors(response.text)
    assert response.headers["Location"] == PAGE
    assert stored() == {
        (income.id, Channel.COUNTER, MONTH): 1200,
        (income.id, Channel.PHONE, MONTH): 0,
        (care.id, Channel.HOME_VISIT, MONTH): 35,
    }
    page = hr_client.get(PAGE).text
    assert "3 counts saved." in page
    assert re.search(rf'id="{cell(income, Channel.COUNTER)}"[^>]*value="1200"', page)

    # Saving again replaces; an empty field leaves the stored count alone.
    response = hr_client.post(
        PAGE,
        data={
            cell(income, Channel.COUNTER): "1300",
            cell(income, Channel.PHONE): "",
            cell(care, Channel.HOME_VISIT): "35",
        },
    )
    assert response.status_code == 302
    assert stored() == {
        (income.id, Channel.COUNTER, MONTH): 1300,
        (income.id, Channel.PHONE, MONTH): 0,
        (care.id, Channel.HOME_VISIT, MONTH): 35,
    }
    assert "1 count saved." in hr_client.get(PAGE).text
    row = db.session.scalar(
        select(ConversationCount).where(ConversationCount.channel == Channel.COUNTER)
    )
    assert row is not None
    assert row.month == date(2025, 3, 1) and row.updated_by_id == hr.id

    events = audit_events()
    assert [(e.actor_id, e.details["month"], e.details["rows"]) for e in events] == [
        (hr.id, MONTH, 3),
        (hr.id, MONTH, 1),
    ]

    # Nothing changed: nothing written, no audit event.
    hr_client.post(PAGE, data={cell(income, Channel.COUNTER): "1300"})
    assert len(audit_events()) == 2
    assert "No changes to save." in hr_client.get(PAGE).text


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "-1",
        "10000001",
        "99999999999999999999999999999999999999999999",
        "1.200",
        "1,5",
        "1e3",
        "12 000",
        "٣",  # an Arabic-Indic digit
        "<script>",
        "0x10",
    ],
)
def test_bad_counts_are_refused_next_to_the_field(hr_client, teams, value):
    income, care = teams
    hr_client.post(PAGE, data={cell(care, Channel.PHONE): "7"})
    response = hr_client.post(
        PAGE,
        data={cell(income, Channel.COUNTER): value, cell(care, Channel.PHONE): "8"},
    )
    assert response.status_code == 200
    assert form_errors(response.text) == [cell(income, Channel.COUNTER)]
    assert 'aria-invalid="true"' in response.text
    assert stored() == {(care.id, Channel.PHONE, MONTH): 7}  # nothing of this post is stored


def test_the_largest_count_is_accepted(hr_client, teams):
    income, _care = teams
    response = hr_client.post(PAGE, data={cell(income, Channel.COUNTER): "10000000"})
    assert response.status_code == 302
    assert stored() == {(income.id, Channel.COUNTER, MONTH): 10_000_000}


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "march", "", "2025-03-01", "1999-12"])
def test_a_bad_month_is_refused_next_to_the_field(hr_client, teams, month):
    income, _care = teams
    page = hr_client.get(f"/hr/conversations?month={month}")
    assert page.status_code == 200
    assert form_errors(page.text) == ["month"]
    assert cell(income, Channel.COUNTER) not in page.text  # no grid for no month
    response = hr_client.post(
        f"/hr/conversations?month={month}", data={cell(income, Channel.COUNTER): "5"}
    )
    assert response.status_code == 200
    assert form_errors(response.text) == ["month"]
    assert stored() == {}


def test_a_future_month_is_refused(login_as, hr, teams):
    with time_machine.travel(JANUARY, tick=False):
        client = login_as(hr)
        assert form_errors(client.get("/hr/conversations?month=2026-01").text) == []
        page = client.get("/hr/conversations?month=2026-02").text
    assert form_errors(page) == ["month"] and "The month 2026-02 has not begun yet." in page


def test_the_grid_is_posted_with_a_csrf_token(hr_client, teams):
    income, _care = teams
    response = hr_client.post(PAGE, data={cell(income, Channel.COUNTER): "5"}, csrf=False)
    assert response.status_code == 400
    assert stored() == {}


def test_the_service_refuses_inactive_teams_and_bad_counts(app, hr, make_team):
    team = make_team()
    gone = make_team()
    gone.active = False
    db.session.commit()
    march = date(2025, 3, 1)
    with pytest.raises(InvalidInput) as refused:
        conversation_service.set_counts(
            hr, march, {(gone.id, Channel.PHONE): 3, (team.id, Channel.PHONE): -1}
        )
    assert set(refused.value.errors) == {
        f"count-{gone.id}-phone",
        f"count-{team.id}-phone",
    }
    with pytest.raises(InvalidInput):
        conversation_service.set_counts(hr, march, {(12345, Channel.PHONE): 1})
    assert stored() == {}
    # A day in the month counts as that month; None leaves a count alone.
    changed = conversation_service.set_counts(
        hr, date(2025, 3, 17), {(team.id, Channel.PHONE): 4, (team.id, Channel.OTHER): None}
    )
    assert changed == 1 and stored() == {(team.id, Channel.PHONE, MONTH): 4}


def test_the_page_runs_the_same_number_of_queries_for_more_teams(
    hr_client, make_team, count_queries
):
    make_team()
    hr_client.get(PAGE)  # warm up: first-request work is not the page's
    with count_queries() as few:
        assert hr_client.get(PAGE).status_code == 200
    for _ in range(8):
        make_team()
    with count_queries() as many:
        page = hr_client.get(PAGE)
    assert page.status_code == 200 and page.text.count('<th scope="row">') > 9
    assert many.count == few.count


# The CSV upload.

MIXED = """month,team,channel,count
2025-03,Income,counter,1200
2025-03,{care_id},interview_room,80
2025-13,Income,phone,5
2025-03,Nobody,phone,5
2025-03,Income,teleport,5
2025-03,Income,phone,-3
2025-03,Income,phone,lots
2025-03,Income,phone

2025-04,income,Phone,0
2025-03,Income,counter,1300
2999-01,Income,counter,1
,,,
"""


def test_upload_stores_valid_lines_and_reports_the_others(hr_client, hr, teams):
    income, care = teams
    response = upload(hr_client, MIXED.format(care_id=care.id).encode())
    assert response.status_code == 200
    page = response.text
    assert "3 lines imported." in page and "8 lines rejected; they were not stored." in page
    assert stored() == {
        (income.id, Channel.COUNTER, "2025-03"): 1200,
        (care.id, Channel.INTERVIEW_ROOM, "2025-03"): 80,
        (income.id, Channel.PHONE, "2025-04"): 0,
    }
    reasons = dict(rejected_lines(page))
    assert sorted(reasons) == [4, 5, 6, 7, 8, 9, 12, 13]
    assert "is not a month" in reasons[4]
    assert "No active team has the number or name “Nobody”" in reasons[5]
    assert "Unknown channel “teleport”" in reasons[6]
    assert "The number must be 0 or more." in reasons[7]
    assert "is not a whole number" in reasons[8]
    assert "Expected 4 values" in reasons[9]
    assert "same month, team and channel as line 2" in reasons[12]
    assert "has not begun yet" in reasons[13]
    assert "<code>2025-03,Nobody,phone,5</code>" in page  # the line as given
    # One audit event per month that changed, marked as an upload.
    events = [(e.actor_id, e.details["month"], e.details["rows"]) for e in audit_events()]
    assert events == [(hr.id, "2025-03", 2), (hr.id, "2025-04", 1)]
    assert {e.details["source"] for e in audit_events()} == {"csv"}
    # The grid of the month shows the imported counts.
    assert re.search(rf'id="{cell(income, Channel.COUNTER)}"[^>]*value="1200"', page)


def test_upload_with_semicolons_dutch_names_and_labels(hr_client, teams):
    income, care = teams
    content = (
        "\ufeffMaand;Team;Kanaal;Aantal\r\n"
        "2025-03;INKOMEN;Spreekkamer;12\r\n"
        "2025-03;zorg;Telefoon;3\r\n"
        '2025-03;"Care";Home visit;4;;\r\n'
        ";;;\r\n"
    ).encode()
    response = upload(hr_client, content)
    assert response.status_code == 200
    assert "3 lines imported." in response.text and "lines rejected" not in response.text
    assert stored() == {
        (income.id, Channel.INTERVIEW_ROOM, MONTH): 12,
        (care.id, Channel.PHONE, MONTH): 3,
        (care.id, Channel.HOME_VISIT, MONTH): 4,
    }


def test_upload_replaces_stored_counts(hr_client, teams):
    income, _care = teams
    upload(hr_client, f"month,team,channel,count\n2025-03,{income.id},counter,10\n".encode())
    upload(hr_client, f"count,channel,team,month\n11,counter,{income.id},2025-03\n".encode())
    assert stored() == {(income.id, Channel.COUNTER, MONTH): 11}


def test_a_file_without_valid_lines_stores_nothing(hr_client, teams):
    response = upload(hr_client, b"month,team,channel,count\n2025-03,Nobody,counter,1\n")
    assert response.status_code == 200
    assert "0 lines imported." in response.text and "Nothing was stored." in response.text
    assert rejected_lines(response.text)[0][0] == 2
    assert stored() == {} and audit_events() == []


def test_inactive_teams_are_not_found_by_name_or_number(hr_client, make_team):
    team = make_team("Closed")
    team.active = False
    db.session.commit()
    response = upload(
        hr_client,
        f"month,team,channel,count\n2025-03,Closed,counter,1\n2025-03,{team.id},counter,1\n".encode(),
    )
    assert [number for number, _ in rejected_lines(response.text)] == [2, 3]
    assert stored() == {}


def test_two_teams_with_one_name_must_be_given_by_number(hr_client, make_team):
    make_team("Twin", name_nl="Tweeling")
    make_team("Other", name_nl="Twin")
    response = upload(hr_client, b"month,team,channel,count\n2025-03,twin,counter,1\n")
    assert "use its number" in rejected_lines(response.text)[0][1]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"  \r\n\n", "The file is empty."),
        ("month,team,channel,count\n2025-03,Café,counter,1\n".encode("cp1252"), "not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8"),
        (b"month,team,channel,count\n", "no lines below the header"),
        (b"2025-03,Income,counter,1\n", "The first line must be the header"),
        (b"month,team,count\n2025-03,Income,1\n", "The first line must be the header"),
        (b"month,team,channel,count\n" + b"x" * (2 * 1024 * 1024), "larger than 2 MB"),
        (b"month,team,channel,count\n" + b"\n" * 20_000, "more than 20,000 lines"),
    ],
)
def test_unusable_files_are_refused_next_to_the_field(hr_client, teams, content, message):
    response = upload(hr_client, content)
    assert response.status_code == 200
    assert form_errors(response.text) == ["file"]
    assert message in response.text
    assert stored() == {}


@pytest.mark.parametrize(
    "data",
    [dict, lambda: {"file": ""}, lambda: {"file": (io.BytesIO(b""), "")}],
    ids=["no field", "text instead of a file", "no file chosen"],
)
def test_a_missing_file_is_refused_next_to_the_field(hr_client, teams, data):
    response = hr_client.post(UPLOAD, data=data(), content_type="multipart/form-data")
    assert response.status_code == 200
    assert form_errors(response.text) == ["file"]
    assert "Choose a CSV file to upload." in response.text


def test_the_largest_file_is_accepted(hr_client, teams):
    income, _care = teams
    lines = [b"month,team,channel,count", f"2025-03,{income.id},counter,1".encode()]
    filler = 2 * 1024 * 1024 - sum(len(line) + 1 for line in lines)
    content = b"\n".join(lines) + b"\n" + b" " * filler
    assert len(content) == 2 * 1024 * 1024
    response = upload(hr_client, content)
    assert form_errors(response.text) == []
    assert "1 line imported." in response.text and "lines rejected" not in response.text
    assert stored() == {(income.id, Channel.COUNTER, MONTH): 1}


@pytest.mark.parametrize(
    "line",
    [
        "2025-03,Income,counter,1\x00",
        '2025-03,"Income,counter,1',
        "2025-03,Income,counter,1,extra",
        "\ufffd\ufffd,\u202e,\x0b,1",
        "2025-03,Income,counter," + "9" * 5000,
        "x" * 200_000,
    ],
)
def test_garbage_lines_are_rejected_never_a_server_error(hr_client, teams, line):
    response = upload(hr_client, f"month,team,channel,count\n{line}\n".encode())
    assert response.status_code == 200
    assert [number for number, _ in rejected_lines(response.text)] == [2]
    assert stored() == {}


def test_a_long_report_shows_the_first_lines(hr_client, teams):
    content = "month,team,channel,count\n" + "2025-03,Nobody,counter,1\n" * 600
    page = upload(hr_client, content.encode()).text
    assert "600 lines rejected" in page and "Only the first 500 rejected lines are shown." in page
    assert len(rejected_lines(page)) == 500


def test_upload_needs_a_csrf_token(hr_client, teams):
    response = hr_client.post(
        UPLOAD,
        data={
            "file": (io.BytesIO(b"month,team,channel,count\n2025-03,Income,counter,1\n"), "a.csv")
        },
        content_type="multipart/form-data",
        csrf=False,
    )
    assert response.status_code == 400
    assert stored() == {}


# Who may enter.


@pytest.mark.parametrize("role", [Role.HR, Role.ADMIN])
def test_hr_and_admins_may_register_counts(login_as, teams, role):
    client = login_as(role)
    income, _care = teams
    assert client.get("/hr/conversations").status_code == 200
    assert client.post(PAGE, data={cell(income, Channel.PHONE): "2"}).status_code == 302
    response = upload(client, f"month,team,channel,count\n2025-03,{income.id},counter,1\n".encode())
    assert response.status_code == 200 and form_errors(response.text) == []
    assert len(stored()) == 2


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.MANAGER])
def test_employees_and_managers_may_not(login_as, teams, role):
    client = login_as(role)
    income, _care = teams
    assert client.get("/hr/conversations").status_code == 403
    assert client.post(PAGE, data={cell(income, Channel.PHONE): "2"}).status_code == 403
    response = upload(client, f"month,team,channel,count\n2025-03,{income.id},counter,1\n".encode())
    assert response.status_code == 403
    assert stored() == {}


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get("/hr/conversations")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_count_of_rows_matches_the_unique_key(hr_client, teams):
    """Upserts never duplicate a (team, channel, month)."""
    income, _care = teams
    for value in ("1", "2", "3"):
        hr_client.post(PAGE, data={cell(income, Channel.COUNTER): value})
    assert db.session.scalar(select(func.count()).select_from(ConversationCount)) == 1


def test_an_all_empty_grid_changes_nothing(hr_client, teams):
    income, _care = teams
    response = hr_client.post(PAGE, data={cell(income, Channel.COUNTER): ""})
    assert response.status_code == 302
    assert stored() == {} and audit_events() == []


# How the service words what the pure reader finds (see tests/unit/test_conversation_csv.py).

NAMED = {
    Problem.WRONG_NUMBER_OF_VALUES,
    Problem.DUPLICATE_LINE,
    Problem.NOT_A_MONTH,
    Problem.MONTH_TOO_EARLY,
    Problem.MONTH_NOT_BEGUN,
    Problem.TEAM_AMBIGUOUS,
    Problem.TEAM_UNKNOWN,
    Problem.CHANNEL_UNKNOWN,
    Problem.NOT_A_NUMBER,
}


@pytest.mark.parametrize("problem", list(Problem))
def test_every_problem_reads_in_english_and_in_dutch(app, problem):
    finding = Finding(problem, "<ABC-7>")
    with force_locale("en"):
        english = conversation_service.describe(finding)
    with force_locale("nl"):
        dutch = conversation_service.describe(finding)
    assert english and dutch and english != dutch
    assert ("<ABC-7>" in english) == ("<ABC-7>" in dutch) == (problem in NAMED)
