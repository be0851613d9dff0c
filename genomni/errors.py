"""The one exception type whose message is shown to users as a single line (no traceback)."""


class GenomniError(Exception):
    """A user-facing error: bad input, missing asset or model, impossible option."""
