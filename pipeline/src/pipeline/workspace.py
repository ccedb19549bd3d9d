"""The checks' commands, pure: what `lint`, `test` and `integration` run in the workspace.

tests/pipeline runs these same lists on this machine, with the variables a real
Dagger engine puts into every exec, so a step that passes here passes there.
"""

# The outage and SIGTERM tests stop and start a private cluster of their own, so the
# test container needs the server binaries as well as the `db` service.
POSTGRES_SERVER = [
    "sh", "-c",
    "apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql >/dev/null",
]  # fmt: skip


def install() -> list[str]:
    """Install the service editable with its development extras."""
    return ["pip", "install", "-e", ".[dev]"]


def lint() -> list[list[str]]:
    """ruff (lint, then format check) and mypy; each fails on any finding."""
    return [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]]


def unit_tests() -> list[str]:
    """The unit tests with the 90% coverage gate."""
    return ["pytest", "-m", "unit", "--cov", "--cov-fail-under=90"]


def migrate() -> list[str]:
    """Apply the database migrations (the service's own command)."""
    return ["hello-api", "migrate"]


def integration_tests() -> list[str]:
    """The integration tests against the PostgreSQL bound as `db`."""
    return ["pytest", "-m", "integration"]
