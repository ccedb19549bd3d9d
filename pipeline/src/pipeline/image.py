"""The service image: built from the repository's Dockerfile, and its SBOM."""

import dagger
from dagger import dag, function

from pipeline import commands
from pipeline.arguments import Created, Platform, Platforms, Revision, SourceUrl, Version
from pipeline.base import Base


class ImageSteps(Base):
    """Build the image exactly as `docker build` would, for one or several platforms."""

    @function
    def build(
        self,
        platform: Platform = "",
        version: Version = "dev",
        revision: Revision = "unknown",
        created: Created = "",
        source_url: SourceUrl = "",
    ) -> dagger.Container:
        """Build the service image from the repository's Dockerfile."""
        args = commands.build_args(
            base_image=self.python_image,
            version=version,
            revision=revision,
            created=created,
            source_url=source_url,
        )
        return self.source.docker_build(
            platform=dagger.Platform(platform) if platform else None,
            build_args=[dagger.BuildArg(name=k, value=v) for k, v in args.items()],
        )

    @function
    def build_all(
        self,
        platforms: Platforms = [],  # noqa: B006 (Dagger arguments are not mutated)
        version: Version = "dev",
        revision: Revision = "unknown",
        created: Created = "",
        source_url: SourceUrl = "",
    ) -> list[dagger.Container]:
        """Build one image per platform (the variants of one multi-platform index)."""
        return [self.build(p, version, revision, created, source_url) for p in platforms or [""]]

    @function
    def sbom(self, platform: Platform = "") -> dagger.File:
        """An SPDX JSON SBOM of the image, made by syft from its OCI tarball."""
        return self.sbom_of(self.build(platform=platform))

    def sbom_of(self, image: dagger.Container) -> dagger.File:
        """The SPDX JSON SBOM of a given image."""
        return (
            dag.container()
            .from_(self.syft_image)
            .with_env_variable("SYFT_CHECK_FOR_APP_UPDATE", "false")
            .with_file("/in/image.tar", image.as_tarball())
            .with_directory("/out", dag.directory())
            .with_exec(commands.syft_sbom("/in/image.tar", "/out/sbom.spdx.json", program="/syft"))
            .file("/out/sbom.spdx.json")
        )
