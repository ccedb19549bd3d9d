"""Fixtures: each overlay rendered by a real kustomize, and the objects tests look at."""

from __future__ import annotations

import pytest

from tests.k8s.manifests import OVERLAYS, Manifest, find, render


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    """Each overlay's name in turn."""
    return str(request.param)


@pytest.fixture
def docs(overlay: str) -> list[Manifest]:
    """The overlay as `kubectl kustomize` renders it."""
    return list(render(overlay))


@pytest.fixture
def rollout(docs: list[Manifest]) -> Manifest:
    """The overlay's Rollout."""
    return find(docs, "Rollout")


@pytest.fixture
def blue_green(rollout: Manifest) -> Manifest:
    """The Rollout's blueGreen strategy."""
    return dict(rollout["spec"]["strategy"]["blueGreen"])


@pytest.fixture
def production() -> list[Manifest]:
    """The production overlay, rendered."""
    return list(render("production"))


@pytest.fixture
def staging() -> list[Manifest]:
    """The staging overlay, rendered."""
    return list(render("staging"))
