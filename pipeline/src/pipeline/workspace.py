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


# Everything the checks and tests install, hashed (scripts/lock writes it; scripts/test
# installs from it too), so a new release on PyPI cannot turn a green run red.
DEV_LOCK = "requirements-dev.lock"


def install_locked() -> list[str]:
    """Install exactly the development lock: every version pinned and hashed, nothing resolved."""
    return ["pip", "install", "--require-hashes", "--no-deps", "-r", DEV_LOCK]


def install_editable(*projects: str) -> list[str]:
    """Install projects editable from what is installed (the lock has their build backend)."""
    editables = [arg for project in projects for arg in ("-e", project)]
    return ["pip", "install", "--no-deps", "--no-build-isolation", *editables]


def install(*projects: str) -> list[list[str]]:
    """The lock, then the projects (default: the service) editable on top."""
    return [install_locked(), install_editable(*(projects or (".",)))]


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
