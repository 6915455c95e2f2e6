"""Legal holds: stop retention for an incident until lifted."""
