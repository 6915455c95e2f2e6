"""The data protection officer's yearly overview."""
