"""Privacy: retention, the right of access, and the data protection officer's overview."""
