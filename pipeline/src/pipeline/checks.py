"""Lint, unit tests with the coverage gate, and integration tests on PostgreSQL."""

from dagger import check, function

from pipeline.arguments import DbPassword
from pipeline.base import Base

# The outage and SIGTERM tests stop and start a private cluster of their own, so the
# test container needs the server binaries as well as the `db` service.
POSTGRES_SERVER = [
    "sh", "-c",
    "apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql >/dev/null",
]  # fmt: skip


class Checks(Base):
    """The checks that need no image: `dagger check` runs them."""

    @function
    @check
    async def lint(self) -> str:
        """Run ruff (lint, format check) and mypy on the service; fail on any finding."""
        return await (
            self.workspace()
            .with_exec(["ruff", "check", "."])
            .with_exec(["ruff", "format", "--check", "."])
            .with_exec(["mypy"])
            .stdout()
        )

    @function
    @check
    async def test(self) -> str:
        """Run the unit tests with the 90% coverage gate; return the coverage report."""
        return await (
            self.workspace()
            .with_exec(["pytest", "-m", "unit", "--cov", "--cov-fail-under=90"])
            .stdout()
        )

    @function
    @check
    async def integration(self, db_password: DbPassword = None) -> str:
        """Run migrations and the integration tests against PostgreSQL bound as `db`."""
        return await (
            self.workspace()
            .with_exec(POSTGRES_SERVER)
            .with_(self.with_database(db_password, app_env="test"))
            .with_exec(["hello-api", "migrate"])
            .with_exec(["pytest", "-m", "integration"])
            .stdout()
        )
