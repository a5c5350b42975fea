"""Resume: the journal of interrupted transfers and a download's range log."""
