"""Fixtures: one control plane and one analysis stub for the whole rehearsal session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.rehearsal.release import prepare, stand_ins
from tests.support import controlplane
from tests.support.analysis_stub import AnalysisStub
from tests.support.controlplane import ControlPlane


@pytest.fixture(scope="session")
def plane() -> Iterator[ControlPlane]:
    """etcd, kube-apiserver, controllers, kwok and Argo Rollouts on loopback."""
    with controlplane.running() as running:
        prepare(running)
        with stand_ins(running):
            yield running


@pytest.fixture(scope="session")
def stub() -> Iterator[AnalysisStub]:
    """The loopback stand-in for the service's smoke endpoints and Prometheus."""
    with AnalysisStub.running() as running:
        yield running
