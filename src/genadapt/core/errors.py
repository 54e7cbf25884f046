"""The one exception type for user-facing failures (bad params, bad data, diverged training)."""


class PipelineError(Exception):
    """A problem the user can fix; stages print its message on one line and exit non-zero."""
