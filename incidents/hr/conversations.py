"""Client conversation counts: a form and a CSV upload."""
