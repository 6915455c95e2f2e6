"""`POST /api/alarms`: an alarm button's event becomes a draft report.

The provider signs `<timestamp>.<raw body>` with HMAC-SHA256 and sends
`X-Incidents-Timestamp: <unix seconds>` and `X-Incidents-Signature: sha256=<hex>`. Answers:
201 with the new draft's id; 200 with the same draft for an event id seen before; 400 for a
body that is not the expected JSON; 401 for a bad signature or a timestamp more than
ALARM_MAX_AGE_SECONDS away; 413 for a body over ALARM_MAX_BYTES; 422 when the e-mail address
names no active account. Never a 500 for anything a client sends.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from incidents.api import bp
from incidents.models import utcnow
from incidents.services import alarms

TIMESTAMP_HEADER = "X-Incidents-Timestamp"
SIGNATURE_HEADER = "X-Incidents-Signature"
# The longest text we keep of each field; longer values are refused, not cut.
FIELD_MAX = {"id": 200, "user": 254, "triggered_at": 64, "location": 200, "device": 200}


def _answer(status: int, **body: Any) -> ResponseReturnValue:
    return body, status


def _problem(status: int, reason: str, message: str) -> ResponseReturnValue:
    return _answer(status, error=reason, message=message)


@bp.route("/alarms", methods=["POST"])
def alarms_webhook() -> ResponseReturnValue:
    """Receive one alarm event from the provider (see the module's docstring)."""
    config = current_app.config
    request.max_content_length = config["ALARM_MAX_BYTES"]
    try:
        body = request.get_data(cache=True)
    except RequestEntityTooLarge:
        return _problem(413, "too_large", f"The body is over {config['ALARM_MAX_BYTES']} bytes.")
    valid = alarms.signature_valid(
        alarms.secrets_of(config["ALARM_WEBHOOK_SECRET"]),
        request.headers.get(TIMESTAMP_HEADER, "").strip(),
        body,
        request.headers.get(SIGNATURE_HEADER, "").strip(),
        utcnow(),
        timedelta(seconds=config["ALARM_MAX_AGE_SECONDS"]),
    )
    if not valid:
        return _problem(
            401,
            "bad_signature",
            f"{SIGNATURE_HEADER} must be the HMAC-SHA256 of '<timestamp>.<body>' with a valid "
            f"secret, and {TIMESTAMP_HEADER} within {config['ALARM_MAX_AGE_SECONDS']} seconds.",
        )
    alarm = _parse(body)
    if isinstance(alarm, str):
        return _problem(400, "bad_request", alarm)
    try:
        event, created = alarms.receive_alarm(alarm)
    except alarms.AlarmRefused as refused:
        return _problem(422, refused.reason, refused.message)
    return _answer(
        201 if created else 200,
        id=event.incident_id,
        event=event.provider_event_id,
        created=created,
    )


def _parse(body: bytes) -> alarms.Alarm | str:
    """The alarm from the body, or what is wrong with it."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return "The body must be a JSON object in UTF-8."
    if not isinstance(data, dict):
        return "The body must be a JSON object."
    values: dict[str, str] = {}
    for name, limit in FIELD_MAX.items():
        value = data.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            return f"'{name}' must be a string."
        value = value.strip()
        if len(value) > limit:
            return f"'{name}' is longer than {limit} characters."
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            return f"'{name}' contains control characters."
        values[name] = value
    for name in ("id", "user", "triggered_at"):
        if not values[name]:
            return f"'{name}' is required."
    try:
        moment = datetime.fromisoformat(values["triggered_at"].replace("Z", "+00:00"))
    except ValueError:
        return "'triggered_at' must be a date and time in ISO 8601, with its offset."
    if moment.tzinfo is None:
        return "'triggered_at' must include its offset from UTC (for example +01:00 or Z)."
    try:
        moment = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return "'triggered_at' is out of range."
    problem = alarms.triggered_at_errors(moment)
    if problem:
        return problem + "."
    return alarms.Alarm(
        provider_event_id=values["id"],
        email=values["user"],
        triggered_at=moment,
        location=values["location"],
        device=values["device"],
    )
