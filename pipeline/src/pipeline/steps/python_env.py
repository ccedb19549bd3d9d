"""Python with the locked development environment, and PostgreSQL bound as `db`."""

from dataclasses import dataclass

import dagger
from dagger import dag

from pipeline import workspace
from pipeline.steps.chain import Transform
from pipeline.toolbox import Toolbox

# What the checks read: a change anywhere else (docs, k8s, README) keeps their cache.
CODE = [
    "service/",
    "tests/*.py",
    "tests/support/",
    "tests/unit/",
    "tests/integration/",
    "pyproject.toml",
    "requirements.lock",
]
# pyproject names README.md as the readme; the checks only need it to exist.
README_STUB = "The README is not part of the checks' input (cache stability).\n"
# A throw-away password for a database that lives for one run and is reachable
# only from the container bound to it; a caller can still pass its own secret.
EPHEMERAL_DB_PASSWORD = "hello-ephemeral-only"  # noqa: S105 (not a credential)
DB_ENV = {"DB_HOST": "db", "DB_PORT": "5432", "DB_NAME": "hello", "DB_USER": "hello"}


@dataclass(frozen=True)
class PythonEnv:
    """The service's development environment, as lint and the tests use it."""

    tools: Toolbox

    def code(self) -> dagger.Directory:
        """The part of the source the checks read."""
        return self.tools.source.filter(include=CODE).with_new_file("README.md", README_STUB)

    def workspace(self) -> dagger.Container:
        """Python with the development lock and the service installed (CI=true)."""
        return (
            dag.container()
            .from_(self.tools.images.python)
            .with_env_variable("CI", "true")  # a missing service fails the tests, never skips
            .with_(self.installed(self.code()))
        )

    def installed(self, code: dagger.Directory, *projects: str) -> Transform:
        """The dev lock installed (cached while it is unchanged), then `code` and projects."""
        locked, editable = workspace.install(*projects)
        lock = self.tools.source.file(workspace.DEV_LOCK)

        def apply(container: dagger.Container) -> dagger.Container:
            return (
                container.with_mounted_cache("/root/.cache/pip", dag.cache_volume("pip"))
                .with_workdir("/src")
                .with_file(f"/src/{workspace.DEV_LOCK}", lock)
                .with_exec(locked)
                .with_directory("/src", code)
                .with_exec(editable)
            )

        return apply

    def with_database(self, password: dagger.Secret | None, app_env: str) -> Transform:
        """Bind PostgreSQL as `db` and point the service at it (DB_* variables, secret password)."""
        secret = password or dag.set_secret("ephemeral-db-password", EPHEMERAL_DB_PASSWORD)

        def apply(container: dagger.Container) -> dagger.Container:
            container = container.with_service_binding("db", self.database(secret))
            for name, value in {"APP_ENV": app_env, **DB_ENV}.items():
                container = container.with_env_variable(name, value)
            return container.with_secret_variable("DB_PASSWORD", secret)

        return apply

    def database(self, password: dagger.Secret) -> dagger.Service:
        """PostgreSQL as a service (its entrypoint initialises the database)."""
        return (
            dag.container()
            .from_(self.tools.images.postgres)
            .with_env_variable("POSTGRES_USER", DB_ENV["DB_USER"])
            .with_env_variable("POSTGRES_DB", DB_ENV["DB_NAME"])
            .with_secret_variable("POSTGRES_PASSWORD", password)
            .with_exposed_port(5432)
            .as_service(use_entrypoint=True)
        )
