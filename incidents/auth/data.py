"""The right of access: everything the app holds about me."""
