"""Tools that look at recordings: info, dump, diff, trim, redact and export (``gemini-live rec …``)."""
