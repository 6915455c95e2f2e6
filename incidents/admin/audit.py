"""The audit trail: search and filter (admin as privacy officer)."""
