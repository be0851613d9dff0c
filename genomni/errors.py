"""The one exception type whose message is shown to users as a single line (no traceback)."""


class GenomniError(ValueError):
    """A user-facing error: bad input, missing asset or model, impossible option. A ValueError, so library callers
    can catch it by the standard type; genomni's own `except ValueError` clauses let it through unchanged."""
