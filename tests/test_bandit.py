"""Security lint: bandit finds no issue of medium or high severity in the application."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_bandit_reports_no_medium_or_high_issue():
    result = subprocess.run(
        [sys.executable, "-m", "bandit", "-q", "-r", "incidents", "-ll"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
