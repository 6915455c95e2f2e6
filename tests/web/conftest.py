"""Fixtures shared by several test modules of tests/web."""

from tests.web.action_helpers import org as action_org
from tests.web.measure_helpers import march_10, staff

__all__ = ["action_org", "march_10", "staff"]
