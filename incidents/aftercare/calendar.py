"""The manager's calendar feed of open aftercare deadlines (iCalendar)."""
