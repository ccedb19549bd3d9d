"""Registry clients for every tool: push, cosign and crane, the credentials in memory only."""

from dataclasses import dataclass

import dagger
from dagger import dag

from pipeline import commands
from pipeline.effects import always_run
from pipeline.errors import ArgumentError
from pipeline.inputs import Login
from pipeline.platforms import repository
from pipeline.steps.chain import Transform
from pipeline.toolbox import TRUSTED_ROOT, Toolbox

# A login writes $DOCKER_CONFIG/config.json. A tmpfs there keeps the password in memory,
# for one exec only: it never reaches a layer, a snapshot or a (remote) cache.
DOCKER_CONFIG = "/run/registry-auth"
_TMPFS_BYTES = 1 << 20


@dataclass(frozen=True)
class RegistryTools:
    """cosign and crane in a shell (their own images have none), and the engine's push."""

    tools: Toolbox

    async def push(self, address: str, variants: list[dagger.Container], login: Login) -> str:
        """Push already-scanned variants as one index; the digest reference."""
        if not address.strip():
            raise ArgumentError("address", "must name an image, e.g. ghcr.io/org/hello-api:1.2")
        login.check()
        pusher = self.authenticated(commands.registry_host(address), login)
        return await pusher.publish(address, platform_variants=variants)

    def pull(self, image: str, login: Login) -> dagger.Container:
        """The image by digest, pulled by the engine from its registry (nothing is built)."""
        host = commands.registry_host(commands.require_digest(image))
        return self.authenticated(host, login).from_(image)

    def authenticated(self, host: str, login: Login) -> dagger.Container:
        """An empty container whose engine pulls and pushes to `host` carry the login."""
        engine = dag.container()
        if login.password is None:
            return engine
        return engine.with_registry_auth(host, login.username, login.password)

    def run(
        self, image: str, login: Login, command: list[str], *setup: Transform
    ) -> dagger.Container:
        """`command` after `setup`, logged in to the registry of `image` (by digest)."""
        commands.require_digest(image)
        return self.logged_in(commands.registry_host(image), login, command, *setup)

    async def resolve(self, tag: str, login: Login) -> str:
        """The repository@sha256:... a tag names in the registry now (no pull, no build)."""
        host = commands.registry_host(tag)
        answer = self.logged_in(host, login, commands.crane_digest(tag), always_run)
        return f"{repository(tag)}@{(await answer.stdout()).strip()}"

    def logged_in(
        self, host: str, login: Login, command: list[str], *setup: Transform
    ) -> dagger.Container:
        """`command` after `setup`, logged in to registry `host`."""
        container = self.container(host, login)
        for step in setup:
            container = container.with_(step)
        return container.with_exec(commands.with_registry_login(command))

    def container(self, host: str, login: Login) -> dagger.Container:
        """The tools, the trust root and the credentials for the registry `host`."""
        images, root = self.tools.images, self.tools.trusted_root
        return (
            dag.container()
            .from_(images.alpine)
            .with_file("/usr/local/bin/cosign", binary(images.cosign, "cosign"))
            .with_file("/usr/local/bin/crane", binary(images.crane, "crane"))
            .with_(lambda c: c.with_file(TRUSTED_ROOT, root) if root else c)
            .with_(registry_credentials(host, login))
        )


def binary(image: str, name: str) -> dagger.File:
    """A static Go binary from its own distroless image (ko puts it in /ko-app)."""
    return dag.container().from_(image).file(f"/ko-app/{name}")


def registry_credentials(host: str, login: Login) -> Transform:
    """What commands.with_registry_login reads: host, user, secret password, tmpfs config."""
    login.check()

    def apply(container: dagger.Container) -> dagger.Container:
        container = container.with_mounted_temp(DOCKER_CONFIG, size=_TMPFS_BYTES)
        container = container.with_env_variable("DOCKER_CONFIG", DOCKER_CONFIG)
        container = container.with_env_variable("REGISTRY", host)
        container = container.with_env_variable("REGISTRY_USER", login.username)
        if login.password is None:
            return container
        return container.with_secret_variable("REGISTRY_PASSWORD", login.password)

    return apply
