"""Registry clients for every tool: one container, the credentials in memory only."""

from dataclasses import dataclass

import dagger
from dagger import dag

from pipeline import commands
from pipeline.base import Transform

# A login writes $DOCKER_CONFIG/config.json. A tmpfs there keeps the password in memory,
# for one exec only: it never reaches a layer, a snapshot or a (remote) cache.
DOCKER_CONFIG = "/run/registry-auth"
_TMPFS_BYTES = 1 << 20
TRUSTED_ROOT = "/in/trusted_root.json"


@dataclass(frozen=True)
class RegistryTools:
    """cosign and crane in a shell (their own images have none), for one registry at a time."""

    alpine_image: str
    cosign_image: str
    crane_image: str
    trusted_root: dagger.File | None = None
    """A Sigstore TrustedRoot JSON, mounted at TRUSTED_ROOT for cosign."""

    def run(
        self,
        image: str,
        user: str,
        password: dagger.Secret | None,
        command: list[str],
        *setup: Transform,
    ) -> dagger.Container:
        """`command` after `setup`, logged in to the registry of `image` (by digest)."""
        container = self.container(image, user, password)
        for step in setup:
            container = container.with_(step)
        return container.with_exec(commands.with_registry_login(command))

    def container(self, image: str, user: str, password: dagger.Secret | None) -> dagger.Container:
        """The tools, the trust root and the credentials for the registry of `image`."""
        host = commands.registry_host(commands.require_digest(image))
        root = self.trusted_root
        return (
            dag.container()
            .from_(self.alpine_image)
            .with_file("/usr/local/bin/cosign", _binary(self.cosign_image, "cosign"))
            .with_file("/usr/local/bin/crane", _binary(self.crane_image, "crane"))
            .with_(lambda c: c.with_file(TRUSTED_ROOT, root) if root else c)
            .with_(registry_credentials(host, user, password))
        )


def _binary(image: str, name: str) -> dagger.File:
    """A static Go binary from its own distroless image (ko puts it in /ko-app)."""
    return dag.container().from_(image).file(f"/ko-app/{name}")


def registry_credentials(host: str, user: str, password: dagger.Secret | None) -> Transform:
    """What commands.with_registry_login reads: host, user, secret password, tmpfs config."""
    if password is not None and not user:
        raise ValueError("username is required when password is given")

    def apply(container: dagger.Container) -> dagger.Container:
        container = container.with_mounted_temp(DOCKER_CONFIG, size=_TMPFS_BYTES)
        container = container.with_env_variable("DOCKER_CONFIG", DOCKER_CONFIG)
        container = container.with_env_variable("REGISTRY", host)
        container = container.with_env_variable("REGISTRY_USER", user)
        if password is None:
            return container
        return container.with_secret_variable("REGISTRY_PASSWORD", password)

    return apply
