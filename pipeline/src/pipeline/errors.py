"""The pipeline's own failures: each ends as one clear message, never a traceback.

None of them is a ValueError, TypeError or OSError on purpose: dagger-io re-labels
those, when raised inside `dagger.connection()`, as "Failed to start Dagger engine
session", which would hide a user's mistake behind an engine problem.
"""


class PipelineError(Exception):
    """A failure the user can act on; its message says what and why."""


class DeployFailedError(PipelineError):
    """The deploy stopped; the message says why and what Git now says."""


class ArgumentError(PipelineError):
    """An argument's value is not acceptable; the message names the flag a user types."""

    def __init__(self, argument: str, problem: str) -> None:
        self.argument = argument
        super().__init__(f"{flag(argument)} {problem}")


def kebab(name: str) -> str:
    """The typed spelling of a Python name, as Dagger makes it: argocd_server -> argocd-server,
    from_ -> from."""
    return name.removesuffix("_").replace("_", "-")


def flag(argument: str) -> str:
    """The command-line flag of a Python parameter: argocd_server -> --argocd-server."""
    return "--" + kebab(argument)
