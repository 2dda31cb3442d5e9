"""The exception every setup step, getter and host-policy refusal raises when a task cannot proceed."""


class SetupError(Exception):
    """A setup or postconfig step failed; the message names the step and what went wrong."""
