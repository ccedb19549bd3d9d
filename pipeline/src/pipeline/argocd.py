"""Argo CD, pure: what an Application says, whether a pushed commit has landed, and the wait.

No Dagger here: `watch` takes an `ask` coroutine that returns the Application's JSON, so the
same loop runs behind curl in a Dagger container (steps/follow.py) and against a real
Argo CD on loopback (tests/rehearsal).

Field names follow Argo CD's own types (argoproj/argo-cd, pkg/apis/application/v1alpha1/
types.go): `status.sync.{status,revision}`, `status.health.{status,message}`,
`status.operationState.{phase,message,finishedAt}`, `.operation.sync.revision`,
`.syncResult.revision`, `status.summary.images`, `status.conditions[].{type,message}`.
While `syncPolicy.retry` retries a failed sync, the controller puts the phase back to
`Running` (controller/appcontroller.go, processRequestedAppOperation): `Failed` or `Error`
is what is left once retries are exhausted, so seeing one is final.
"""

import enum
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio

from pipeline.errors import DeployFailedError

# The poll interval: Argo CD reconciles on its own schedule; asking more often only adds load.
POLL_SECONDS = 10
SHORT = 12
# curl exit codes that say "try again": resolve (5, 6), connect (7), HTTP/2 (16, 92),
# partial transfer (18), timeout (28), TLS handshake (35), empty reply (52), send/receive (55, 56).
TRANSIENT_CURL = frozenset({5, 6, 7, 16, 18, 28, 35, 52, 55, 56, 92})
# HTTP answers that say "try again": a timeout, throttling, any server-side failure.
TRANSIENT_HTTP = frozenset({408, 429})
CURL_HTTP_ERROR = 22
FINISHED_BADLY = frozenset({"Failed", "Error"})


class TransientError(DeployFailedError):
    """Argo CD did not answer this time (connection, timeout, 5xx): `watch` asks again."""


class AccessError(DeployFailedError):
    """Argo CD refused or does not know the Application: asking again cannot help."""


class Outcome(enum.Enum):
    """Where a deploy stands, as far as Argo CD shows it."""

    WAIT = "wait"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SUSPENDED = "suspended"
    TIMED_OUT = "timed out"


@dataclass(frozen=True)
class AppStatus:
    """The parts of an Application's status that say what runs and how it went."""

    sync: str = "Unknown"
    revision: str = ""
    health: str = "Unknown"
    health_message: str = ""
    phase: str = ""
    operation_revision: str = ""
    operation_message: str = ""
    finished: bool = False
    images: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> "AppStatus":
        """Read `GET /api/v1/applications/NAME`'s answer (the Application object)."""
        try:
            app = json.loads(text)
        except ValueError as exc:
            raise TransientError(
                f"Argo CD answered something that is not JSON: {text[:80]!r}"
            ) from exc
        status = _object(app, "status")
        operation = _object(status, "operationState")
        return cls(
            sync=str(_object(status, "sync").get("status") or "Unknown"),
            revision=str(_object(status, "sync").get("revision") or ""),
            health=str(_object(status, "health").get("status") or "Unknown"),
            health_message=str(_object(status, "health").get("message") or ""),
            phase=str(operation.get("phase") or ""),
            operation_revision=_operation_revision(operation),
            operation_message=str(operation.get("message") or ""),
            finished=bool(operation.get("finishedAt")),
            images=tuple(str(i) for i in _object(status, "summary").get("images") or ()),
            conditions=tuple(_condition(c) for c in status.get("conditions") or ()),
        )

    def describe(self) -> str:
        """One line a person reads: sync, revision, health, last operation, conditions."""
        line = f"{self.sync} at {self.revision[:SHORT] or 'no revision'}, {self.health}"
        line += f" ({self.health_message})" if self.health_message else ""
        if self.phase:
            line += f"; last sync operation {self.phase} at {self.operation_revision[:SHORT]}"
            line += f": {self.operation_message}" if self.operation_message else ""
        return "; ".join([line, *self.conditions])


def _object(parent: Any, key: str) -> dict[str, Any]:
    value = parent.get(key) if isinstance(parent, dict) else None
    return value if isinstance(value, dict) else {}


def _operation_revision(operation: dict[str, Any]) -> str:
    """The revision the operation synced (its result), else the one it was asked for."""
    requested = _object(_object(operation, "operation"), "sync").get("revision")
    return str(_object(operation, "syncResult").get("revision") or requested or "")


def _condition(condition: Any) -> str:
    entry = condition if isinstance(condition, dict) else {}
    return f"{entry.get('type', 'Condition')}: {entry.get('message', '')}".strip()


@dataclass(frozen=True)
class Verdict:
    """What `watch` concluded and exactly what it observed."""

    outcome: Outcome
    reason: str
    status: AppStatus | None = None


def decide(status: AppStatus, pushed: str, deadline_passed: bool = False) -> Verdict:
    """The verdict on `pushed` from one answer; only what happened AT `pushed` counts.

    Success needs all of: Argo CD compared against `pushed` and found it Synced, the last
    sync operation synced `pushed` and Succeeded, and the Application is Healthy. Before
    that, whatever the Application shows (Healthy or Degraded) describes an older commit:
    wait. A failed sync operation at `pushed`, or Degraded once `pushed` is applied, fails.
    Suspended once `pushed` is applied is a paused Rollout waiting for promotion.
    """
    short = pushed[:SHORT]
    ours = status.operation_revision == pushed
    if ours and status.phase in FINISHED_BADLY:
        return Verdict(
            Outcome.FAILED, f"the sync of {short} {status.phase}: {status.describe()}", status
        )
    applied = ours and status.finished and status.phase == "Succeeded"
    applied = applied and status.revision == pushed
    if applied and status.health == "Degraded":
        return Verdict(Outcome.FAILED, f"Degraded at {short}: {status.describe()}", status)
    if applied and status.sync == "Synced" and status.health == "Healthy":
        return Verdict(Outcome.SUCCEEDED, f"Synced and Healthy at {short}", status)
    if applied and status.sync == "Synced" and status.health == "Suspended":
        reason = f"Synced at {short}; the Rollout is paused, waiting for promotion"
        return Verdict(Outcome.SUSPENDED, reason, status)
    if deadline_passed:
        return Verdict(Outcome.TIMED_OUT, f"not yet landed at {short}: {status.describe()}", status)
    return Verdict(Outcome.WAIT, status.describe(), status)


def curl_failure(exit_code: int, stderr: str) -> DeployFailedError:
    """The error for a failed `curl -f` call: TransientError when asking again may help."""
    said = stderr.strip().splitlines()[-1] if stderr.strip() else f"curl exited {exit_code}"
    if exit_code in TRANSIENT_CURL:
        return TransientError(f"Argo CD did not answer: {said}")
    code = re.search(r"returned error: (\d{3})", stderr) if exit_code == CURL_HTTP_ERROR else None
    status = int(code[1]) if code else 0
    if status >= 500 or status in TRANSIENT_HTTP:
        return TransientError(f"Argo CD answered HTTP {status}: {said}")
    if status in (401, 403):
        return AccessError(f"Argo CD refused the token (HTTP {status}): check --argocd-token")
    if status == 404:
        return AccessError("Argo CD has no such Application (HTTP 404): check --argocd-server")
    return AccessError(f"cannot ask Argo CD ({said}): check --argocd-server and --argocd-token")


def refreshed(url: str, refresh: bool) -> str:
    """The Application's address; with `?refresh=normal` Argo CD re-reads Git first."""
    return f"{url}?refresh=normal" if refresh else url


def why_not_serving(status: AppStatus, digest: str) -> str:
    """Why the Application does not run `digest` Synced and Healthy; empty when it does."""
    if status.sync != "Synced" or status.health != "Healthy":
        return f"it is {status.describe()}"
    if not any(image.endswith(f"@{digest}") for image in status.images):
        return f"it runs {', '.join(status.images) or 'no image'}, not {digest}"
    return ""


Ask = Callable[[bool], Awaitable[str]]


class _Watch:
    """The state between two polls: the last answer, the last error, whether to refresh."""

    def __init__(self, pushed: str) -> None:
        self.pushed = pushed
        self.refresh = True
        self.last: AppStatus | None = None
        self.error = ""

    async def step(self, ask: Ask) -> Verdict | None:
        """Ask once; the verdict when it is final, None to poll again."""
        try:
            self.last = AppStatus.parse(await ask(self.refresh))
        except TransientError as exc:
            self.error = str(exc)
            return None
        self.refresh, self.error = False, ""
        verdict = decide(self.last, self.pushed)
        return None if verdict.outcome is Outcome.WAIT else verdict

    def timed_out(self, seconds: float) -> Verdict:
        """What the deadline left us with: the last answer, and the last error if any."""
        within = f"within {seconds:g}s"
        if self.last is None:
            return Verdict(Outcome.TIMED_OUT, f"no answer from Argo CD {within}: {self.error}")
        verdict = decide(self.last, self.pushed, deadline_passed=True)
        reason = f"{verdict.reason} ({within})" + (f"; then {self.error}" if self.error else "")
        return Verdict(Outcome.TIMED_OUT, reason, self.last)


async def watch(ask: Ask, pushed: str, seconds: float, poll: float = POLL_SECONDS) -> Verdict:
    """Poll the Application until `pushed` succeeded, failed or is suspended, or time is up.

    `ask(refresh)` returns the Application's JSON; `refresh` is True until one answer came
    back after the push, so Argo CD looks at Git instead of describing an older commit.
    TransientError from `ask` is retried until the deadline; any other error propagates.
    A Suspended Application once `pushed` is applied (a paused Rollout,
    `autoPromotionEnabled: false`) returns at once: promotion is a person's decision, often
    hours later, and a pipeline that polls until its deadline only fails for want of it
    (`argocd app wait --suspended` likewise counts a suspended app as arrived).
    """
    watcher = _Watch(pushed)
    with anyio.move_on_after(seconds):
        while True:
            if (verdict := await watcher.step(ask)) is not None:
                return verdict
            await anyio.sleep(poll)
    return watcher.timed_out(seconds)
