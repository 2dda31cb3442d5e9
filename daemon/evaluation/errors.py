"""The exceptions evaluation code raises on purpose: a task that cannot proceed, a task written wrongly."""


class SetupError(Exception):
    """A setup or postconfig step failed; the message names the step and what went wrong."""


class MalformedTask(ValueError):
    """A rule or option the task-shape check let through that a getter or metric cannot follow (an unknown
    rule type, say): the task's fault, answered 422. Any other exception of a getter or metric is our bug."""
