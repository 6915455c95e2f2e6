"""Fixtures shared by several test modules of tests/web."""

from tests.web.measure_helpers import march_10, staff

__all__ = ["march_10", "staff"]
