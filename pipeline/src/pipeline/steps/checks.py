"""Lint, unit tests with the coverage gate, integration tests on PostgreSQL, and self-test."""

from dataclasses import dataclass

import dagger
from dagger import dag

from pipeline import own_tests, workspace
from pipeline.steps.chain import Transform, run_all
from pipeline.steps.python_env import README_STUB, PythonEnv
from pipeline.steps.registry import binary
from pipeline.toolbox import Toolbox


@dataclass(frozen=True)
class Checks:
    """The checks that need no image."""

    tools: Toolbox

    async def lint(self) -> str:
        """ruff (lint, format check) and mypy on the service; fails on any finding."""
        return await PythonEnv(self.tools).workspace().with_(run_all(workspace.lint())).stdout()

    async def unit_tests(self) -> str:
        """The unit tests with the 90% coverage gate; their output."""
        return await PythonEnv(self.tools).workspace().with_exec(workspace.unit_tests()).stdout()

    async def integration(self, db_password: dagger.Secret | None) -> str:
        """Migrations and the integration tests against PostgreSQL bound as `db`."""
        env = PythonEnv(self.tools)
        return await (
            env.workspace()
            .with_exec(workspace.POSTGRES_SERVER)
            .with_(env.with_database(db_password, app_env="test"))
            .with_exec(workspace.migrate())
            .with_exec(workspace.integration_tests())
            .stdout()
        )

    async def self_test(self, golang_image: str) -> str:
        """ruff on pipeline/, and tests/pipeline and tests/k8s with their real tools."""
        source = self.tools.source
        own_code = source.filter(exclude=["README.md"]).with_new_file("README.md", README_STUB)
        return await (
            self.self_test_tools(golang_image)
            .with_(PythonEnv(self.tools).installed(own_code, ".", "./pipeline"))
            .with_(run_all(own_tests.lint()))
            .with_exec(own_tests.tests())
            .stdout()
        )

    def self_test_tools(self, golang_image: str) -> dagger.Container:
        """Python, CI=true, with the Debian packages and what scripts/tools installs."""
        return (
            dag.container()
            .from_(self.tools.images.python)
            .with_env_variable("CI", "true")  # a missing tool fails the tests, never skips
            .with_exec(own_tests.apt_install())
            .with_(self.self_test_binaries(golang_image))
            .with_(_tool_caches)
            .with_directory("/src/scripts/tools", self.tools.source.directory("scripts/tools"))
            .with_workdir("/src")
            .with_env_variable("TOOLS_DIR", own_tests.TOOLS_DIR)
            .with_symlink(own_tests.TOOLS_DIR, own_tests.TOOLS_LINK)
            .with_exec(own_tests.install_tools())
            .with_env_variable("PATH", f"{own_tests.TOOLS_DIR}/bin:${{PATH}}", expand=True)
        )

    def self_test_binaries(self, golang_image: str) -> Transform:
        """Go (for `go install`), cosign (the one sign and verify run), the registry's config."""
        go = dag.container().from_(golang_image).directory("/usr/local/go")
        cosign = binary(self.tools.images.cosign, "cosign")

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
