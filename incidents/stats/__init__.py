"""Statistics: read-only aggregate queries (`queries`) and disclosure control (`disclosure`)."""
