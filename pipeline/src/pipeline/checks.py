"""Lint, unit tests with the coverage gate, integration tests on PostgreSQL, and self-test."""

from typing import Annotated

import dagger
from dagger import Doc, check, dag, function

from pipeline import own_tests, workspace
from pipeline.arguments import DbPassword
from pipeline.base import README_STUB, Base, Transform, run_all

GolangImage = Annotated[
    str, Doc("Go image whose toolchain builds actionlint; override to use a private mirror.")
]


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

    @function
    @check
    async def self_test(self, golang_image: GolangImage = own_tests.GOLANG) -> str:
        """Lint pipeline/ and run tests/pipeline and tests/k8s with their real tools."""
        own_code = self.source.filter(exclude=["README.md"]).with_new_file("README.md", README_STUB)
        return await (
            self.self_test_tools(golang_image)
            .with_(self.installed(own_code, ".", "./pipeline"))
            .with_(run_all(own_tests.lint()))
            .with_exec(own_tests.tests())
            .stdout()
        )

    def self_test_tools(self, golang_image: str) -> dagger.Container:
        """Python, CI=true, with the Debian packages and what scripts/tools installs."""
        return (
            dag.container()
            .from_(self.python_image)
            .with_env_variable("CI", "true")  # a missing tool fails the tests, never skips
            .with_exec(own_tests.apt_install())
            .with_(self.self_test_binaries(golang_image))
            .with_(_tool_caches)
            .with_directory("/src/scripts/tools", self.source.directory("scripts/tools"))
            .with_workdir("/src")
            .with_env_variable("TOOLS_DIR", own_tests.TOOLS_DIR)
            .with_symlink(own_tests.TOOLS_DIR, own_tests.TOOLS_LINK)
            .with_exec(own_tests.install_tools())
            .with_env_variable("PATH", f"{own_tests.TOOLS_DIR}/bin:${{PATH}}", expand=True)
        )

    def self_test_binaries(self, golang_image: str) -> Transform:
        """Go (for `go install`), cosign (the one sign and verify run), the registry's config."""
        go = dag.container().from_(golang_image).directory("/usr/local/go")
        cosign = dag.container().from_(self.cosign_image).file("/ko-app/cosign")

        def apply(container: dagger.Container) -> dagger.Container:
            return (
                container.with_directory("/usr/local/go", go)
                .with_file(f"{own_tests.TOOLS_DIR}/bin/cosign", cosign)
                .with_new_file(own_tests.REGISTRY_CONFIG_PATH, own_tests.REGISTRY_CONFIG)
            )

        return apply


def _tool_caches(container: dagger.Container) -> dagger.Container:
    """The download caches of pip, npm and Go, shared across runs."""
    for path, name in {
        "/root/.cache/pip": "pip",
        "/root/.npm": "npm",
        "/root/go/pkg/mod": "go-mod",
        "/root/.cache/go-build": "go-build",
    }.items():
        container = container.with_mounted_cache(path, dag.cache_volume(name))
    return container
