"""The secret address of a manager's calendar feed: making, renewing and looking it up.

The address holds a random token instead of a login, so calendar programs can fetch it.
Renewing replaces the token: the old address stops working at once.
"""

from __future__ import annotations

import re
import secrets

from flask_babel import gettext as _
from sqlalchemy import select

from incidents.extensions import db
from incidents.models import AuditAction, User
from incidents.services.base import ServiceError, audit, transaction

TOKEN_BYTES = 32
# secrets.token_urlsafe(32): 43 characters of the URL-safe base64 alphabet, no padding.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


def renew_calendar_token(user: User) -> str:
    """Give `user` (a manager) a new calendar token and return it; any old one stops working.

    The audit event records that the address was renewed, never the token itself.
    """
    if not user.is_active_manager:
        raise ServiceError(_("Only managers have a calendar feed."))
    with transaction():
        replaced = user.calendar_token is not None
        token = secrets.token_urlsafe(TOKEN_BYTES)
        user.calendar_token = token
        audit(user, AuditAction.USER_CALENDAR_RENEW, user, replaced=replaced)
    return token


def user_by_calendar_token(token: str) -> User | None:
    """The active manager whose calendar feed has this token; None for anything else.

    A token of the wrong shape is refused without a query. The token is a 256-bit secret
    looked up in the database, so a timing difference tells an attacker nothing useful.
    """
    if not _TOKEN_SHAPE.fullmatch(token):
        return None
    return db.session.scalar(
        select(User).where(User.calendar_token == token, User.is_active_manager)
    )
