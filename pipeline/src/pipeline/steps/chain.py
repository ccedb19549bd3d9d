"""Helpers for container chains: a transform type and a sequence of commands."""

from collections.abc import Callable

import dagger

Transform = Callable[[dagger.Container], dagger.Container]


def run_all(argvs: list[list[str]]) -> Transform:
    """Run a sequence of commands (one definition in the pure builders) on a container."""

    def apply(container: dagger.Container) -> dagger.Container:
        for argv in argvs:
            container = container.with_exec(argv)
        return container

    return apply
