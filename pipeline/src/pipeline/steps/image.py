"""The service image: built from the repository's Dockerfile, its SBOMs, the local service."""

from dataclasses import dataclass

import dagger
from dagger import dag

from pipeline import commands, workspace
from pipeline.inputs import Stamp
from pipeline.steps.python_env import PythonEnv
from pipeline.toolbox import Toolbox

# The Dockerfile's own defaults (VERSION dev, GIT_SHA unknown).
NO_STAMP = Stamp()


@dataclass(frozen=True)
class ImageBuilder:
    """Build the image exactly as `docker build` would, for one or several platforms."""

    tools: Toolbox

    def build(self, platform: str = "", stamp: Stamp = NO_STAMP) -> dagger.Container:
        """The image for one platform ("": the engine's own)."""
        args = commands.build_args(
            base_image=self.tools.images.python,
            version=stamp.version,
            revision=stamp.revision,
            created=stamp.created,
            source_url=stamp.source_url,
        )
        return self.tools.source.docker_build(
            platform=dagger.Platform(platform) if platform else None,
            build_args=[dagger.BuildArg(name=k, value=v) for k, v in args.items()],
        )

    def build_all(self, platforms: list[str], stamp: Stamp = NO_STAMP) -> list[dagger.Container]:
        """One image per platform: the variants of one multi-platform index."""
        return [self.build(platform, stamp) for platform in platforms or [""]]

    def sbom_of(self, image: dagger.Container) -> dagger.File:
        """The SPDX JSON SBOM of an image, made by syft from its OCI tarball."""
        return (
            dag.container()
            .from_(self.tools.images.syft)
            .with_env_variable("SYFT_CHECK_FOR_APP_UPDATE", "false")
            .with_file("/in/image.tar", image.as_tarball())
            .with_directory("/out", dag.directory())
            .with_exec(commands.syft_sbom("/in/image.tar", "/out/sbom.spdx.json", program="/syft"))
            .file("/out/sbom.spdx.json")
        )

    def platform_sboms(
        self, platforms: list[str], variants: list[dagger.Container]
    ) -> dict[str, dagger.File]:
        """One SBOM per built variant, keyed by its platform ("" for the engine's own)."""
        return {p: self.sbom_of(v) for p, v in zip(platforms or [""], variants, strict=True)}

    def served(self, db_password: dagger.Secret | None) -> dagger.Service:
        """The image, migrated, serving on 8000, with PostgreSQL bound as `db`."""
        env = PythonEnv(self.tools)
        return (
            self.build()
            .with_(env.with_database(db_password, app_env="development"))
            .with_exec(workspace.migrate())
            .with_exposed_port(8000)
            .as_service(args=["hello-api", "serve"])
        )
