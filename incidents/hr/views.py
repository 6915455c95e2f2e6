"""Statistics and the yearly report (filled in by the lead developer)."""
