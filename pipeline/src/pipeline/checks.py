"""Lint, unit tests with the coverage gate, and integration tests on PostgreSQL."""

from dagger import check, function

from pipeline import workspace
from pipeline.arguments import DbPassword
from pipeline.base import Base, run_all


class Checks(Base):
    """The checks that need no image: `dagger check` runs them."""

    @function
    @check
    async def lint(self) -> str:
        """Run ruff (lint, format check) and mypy on the service; fail on any finding."""
        return await self.workspace().with_(run_all(workspace.lint())).stdout()

    @function
    @check
    async def test(self) -> str:
        """Run the unit tests with the 90% coverage gate; return the coverage report."""
        return await self.workspace().with_exec(workspace.unit_tests()).stdout()

    @function
    @check
    async def integration(self, db_password: DbPassword = None) -> str:
        """Run migrations and the integration tests against PostgreSQL bound as `db`."""
        return await (
            self.workspace()
            .with_exec(workspace.POSTGRES_SERVER)
            .with_(self.with_database(db_password, app_env="test"))
            .with_exec(workspace.migrate())
            .with_exec(workspace.integration_tests())
            .stdout()
        )
