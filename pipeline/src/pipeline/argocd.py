"""Argo CD, pure: what an Application says, whether a pushed commit has landed, and the wait.

No Dagger here: `watch` takes an `ask` coroutine that returns the Application's JSON, so the
same loop runs behind curl in a Dagger container (steps/follow.py) and against a real
Argo CD on loopback (tests/rehearsal).

Field names follow Argo CD's own types (argoproj/argo-cd, pkg/apis/application/v1alpha1/
types.go): `status.sync.{status,revision}`, `status.health.{status,message}`,
`status.resources[].{group,kind,name,health}`, `status.operationState.{phase,message,
finishedAt,retryCount}`, `.operation.sync.revision`, `.syncResult.{revision,resources[]}`
(each `{group,kind,name,status,hookPhase,message}`), `status.summary.images`,
`status.conditions[].{type,message}`.

While `syncPolicy.retry` retries a failed sync, the controller puts the phase back to
`Running` with the message "<why>. Retrying attempt #N at <time>."
(controller/appcontroller.go, processRequestedAppOperation): that, with a failed hook in
`syncResult.resources`, is already a failed attempt; `Failed` or `Error` is what is left
once retries are exhausted. gitops-engine records every task's outcome in `hookPhase`,
hooks and ordinary resources alike (pkg/sync/sync_context.go, setResourceResult).

Health: the Application's `status.health` is its worst resource's, so a PodDisruptionBudget
at 0 allowed disruptions during a blue/green switch, or any side resource, would decide a
deploy. What tells a deploy is the Rollout's own entry in `status.resources`; the
Application's health must also be Healthy to call it a success.

The revision: Argo CD follows a branch, so a later commit can move `status.sync.revision`
and the next operation past ours. A revision that DESCENDS from ours and still names our
image runs ours: `watch` asks an injected `landed(revision)` about every such revision
(steps/follow.py answers with git) and `decide` counts those as ours.
"""

import enum
import json
import re
from collections.abc import Awaitable, Callable, Collection
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
# The controller's words when it puts a failed operation back to Running for a retry.
RETRYING = "Retrying attempt #"
ROLLOUT = ("argoproj.io", "Rollout")
# The database credentials: while they are not Ready, no sync of any commit can succeed.
SECRET = ("external-secrets.io", "ExternalSecret")


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
    # The sync failed for a reason no commit can fix (the database secret): no verdict.
    BLOCKED = "blocked"


@dataclass(frozen=True)
class TaskResult:
    """One `syncResult.resources[]` entry: how a resource or hook fared in the sync."""

    group: str
    kind: str
    name: str
    phase: str = ""
    status: str = ""
    message: str = ""
    hook: str = ""

    @classmethod
    def parse(cls, entry: Any) -> "TaskResult":
        """Read one entry; missing fields are empty."""
        entry = entry if isinstance(entry, dict) else {}
        fields = ("group", "kind", "name", "hookPhase", "status", "message", "hookType")
        return cls(*(str(entry.get(name) or "") for name in fields))

    @property
    def failed(self) -> bool:
        """The task failed: its phase Failed or Error, or Argo CD could not apply it."""
        return self.phase in FINISHED_BADLY or self.status == "SyncFailed"

    def describe(self) -> str:
        """`Kind/name: message`."""
        return f"{self.kind}/{self.name}: {self.message or self.phase or self.status}"


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
    retry_count: int = 0
    failures: tuple[TaskResult, ...] = ()
    rollout: str = ""
    rollout_message: str = ""

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
        rollout = _rollout_health(status.get("resources"))
        results = _object(operation, "syncResult").get("resources")
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
            retry_count=_integer(operation.get("retryCount")),
            failures=tuple(r for r in map(TaskResult.parse, _entries(results)) if r.failed),
            rollout=str(rollout.get("status") or ""),
            rollout_message=str(rollout.get("message") or ""),
        )

    @property
    def deploy_health(self) -> str:
        """The Rollout's own health; the Application's when Argo CD lists no Rollout."""
        return self.rollout or self.health

    @property
    def retrying(self) -> bool:
        """The last attempt failed and the controller will try again (phase Running)."""
        return self.phase == "Running" and RETRYING in self.operation_message

    @property
    def secret_failures(self) -> tuple[TaskResult, ...]:
        """The failed tasks that are the database secret."""
        return tuple(f for f in self.failures if (f.group, f.kind) == SECRET)

    def describe(self) -> str:
        """One line a person reads: sync, revision, health, last operation, conditions."""
        line = f"{self.sync} at {self.revision[:SHORT] or 'no revision'}, {self.health}"
        line += f" ({self.health_message})" if self.health_message else ""
        if self.rollout:
            line += f"; Rollout {self.rollout}"
            line += f" ({self.rollout_message})" if self.rollout_message else ""
        if self.phase:
            line += f"; last sync operation {self.phase} at {self.operation_revision[:SHORT]}"
            line += f": {self.operation_message}" if self.operation_message else ""
        failed = [f.describe() for f in self.failures]
        return "; ".join([line, *failed, *self.conditions])


def _object(parent: Any, key: str) -> dict[str, Any]:
    value = parent.get(key) if isinstance(parent, dict) else None
    return value if isinstance(value, dict) else {}


def _entries(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _integer(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _rollout_health(resources: Any) -> dict[str, Any]:
    """The health of the Rollout among `status.resources` (empty when there is none)."""
    for entry in _entries(resources):
        if isinstance(entry, dict) and (entry.get("group"), entry.get("kind")) == ROLLOUT:
            return _object(entry, "health")
    return {}


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


def decide(
    status: AppStatus,
    pushed: str,
    deadline_passed: bool = False,
    descendants: Collection[str] = (),
) -> Verdict:
    """The verdict on `pushed` from one answer; only what happened AT `pushed` counts.

    "At `pushed`" means at `pushed` or at one of `descendants` (later commits that still
    run our image). Success needs all of: Argo CD compared against such a revision and
    found it Synced, the last sync operation synced one and Succeeded, the Rollout is
    Healthy and so is the Application. Before that, whatever the Application shows
    describes an older commit: wait. A failed sync attempt at ours (finished, or put back
    to Running for a retry after a failed hook) fails, unless what failed is the database
    secret (BLOCKED: no commit can pass that wave). A Degraded Rollout once ours is applied fails; a
    Suspended one is a paused Rollout waiting for promotion.
    """
    short, ours = pushed[:SHORT], {pushed, *descendants}
    if status.operation_revision in ours and _attempt_failed(status):
        return _failed(status, short)
    applied = status.operation_revision in ours and status.revision in ours
    applied = applied and status.finished and status.phase == "Succeeded"
    health, synced = status.deploy_health, status.sync == "Synced"
    if applied and health == "Degraded":
        return Verdict(Outcome.FAILED, f"Degraded at {short}: {status.describe()}", status)
    if applied and synced and health == "Healthy" and status.health == "Healthy":
        return Verdict(Outcome.SUCCEEDED, f"Synced and Healthy at {short}", status)
    if applied and synced and health == "Suspended":
        reason = f"Synced at {short}; the Rollout is paused, waiting for promotion"
        return Verdict(Outcome.SUSPENDED, reason, status)
    if deadline_passed:
        return Verdict(Outcome.TIMED_OUT, f"not yet landed at {short}: {status.describe()}", status)
    return Verdict(Outcome.WAIT, status.describe(), status)


def _attempt_failed(status: AppStatus) -> bool:
    """The last sync attempt failed: finished Failed or Error, or retrying a failed hook.

    A hook (the migration Job) that failed fails the same way when retried; any other
    task (an apply refused for a moment, the secret store down) may pass on a retry, so
    only the final Failed judges it.
    """
    retried_hook = status.retrying and any(f.hook for f in status.failures)
    return status.phase in FINISHED_BADLY or retried_hook


def _failed(status: AppStatus, short: str) -> Verdict:
    """FAILED with what failed; BLOCKED when it is the database secret that is not ready."""
    if secret := status.secret_failures:
        said = "; ".join(f.describe() for f in secret)
        reason = (
            f"cannot judge {short}: the database secret is not ready ({said}); no commit "
            "can sync until the secret store answers, and Argo CD will not sync this "
            "revision again by itself once its retries are spent: sync by hand then"
        )
        return Verdict(Outcome.BLOCKED, reason, status)
    phase = f"{status.phase} (retrying)" if status.retrying else status.phase
    return Verdict(Outcome.FAILED, f"the sync of {short} {phase}: {status.describe()}", status)


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
# landed(revision): whether `revision` descends from the pushed commit and still runs its
# image. TransientError: not known this time, asked again at the next poll.
Landed = Callable[[str], Awaitable[bool]]


async def _only_itself(_revision: str) -> bool:
    """The `landed` of a watch told nothing about the history: no other revision is ours."""
    return False


class _Watch:
    """The state between two polls: the last answer, the last error, whether to refresh,
    and what `landed` said about each revision seen (asked once per revision)."""

    def __init__(self, pushed: str, landed: Landed) -> None:
        self.pushed = pushed
        self.landed = landed
        self.refresh = True
        self.last: AppStatus | None = None
        self.error = ""
        self.known: dict[str, bool] = {pushed: True}

    async def step(self, ask: Ask) -> Verdict | None:
        """Ask once; the verdict when it is final, None to poll again."""
        try:
            self.last = AppStatus.parse(await ask(self.refresh))
            self.refresh = False
            await self.learn(self.last)
        except TransientError as exc:
            self.error = str(exc)
            return None
        self.error = ""
        verdict = decide(self.last, self.pushed, descendants=self.descendants)
        return None if verdict.outcome is Outcome.WAIT else verdict

    async def learn(self, status: AppStatus) -> None:
        """Ask `landed` about the revisions of this answer not seen before."""
        for revision in (status.revision, status.operation_revision):
            if revision and revision not in self.known:
                self.known[revision] = await self.landed(revision)

    @property
    def descendants(self) -> frozenset[str]:
        """The revisions known to run our commit."""
        return frozenset(revision for revision, ours in self.known.items() if ours)

    def timed_out(self, seconds: float) -> Verdict:
        """What the deadline left us with: the last answer, and the last error if any."""
        within = f"within {seconds:g}s"
        if self.last is None:
            return Verdict(Outcome.TIMED_OUT, f"no answer from Argo CD {within}: {self.error}")
        verdict = decide(self.last, self.pushed, deadline_passed=True, descendants=self.descendants)
        reason = f"{verdict.reason} ({within})" + (f"; then {self.error}" if self.error else "")
        return Verdict(Outcome.TIMED_OUT, reason, self.last)


async def watch(
    ask: Ask,
    pushed: str,
    seconds: float,
    poll: float = POLL_SECONDS,
    landed: Landed = _only_itself,
) -> Verdict:
    """Poll the Application until `pushed` succeeded, failed or is suspended, or time is up.

    `landed(revision)` says whether a revision Argo CD shows, other than `pushed`, runs
    our commit (a later commit on the followed branch that descends from it and still
    names its image); its TransientError is asked again at the next poll.

    `ask(refresh)` returns the Application's JSON; `refresh` is True until one answer came
    back after the push, so Argo CD looks at Git instead of describing an older commit.
    TransientError from `ask` is retried until the deadline; any other error propagates.
    A Suspended Application once `pushed` is applied (a paused Rollout,
    `autoPromotionEnabled: false`) returns at once: promotion is a person's decision, often
    hours later, and a pipeline that polls until its deadline only fails for want of it
    (`argocd app wait --suspended` likewise counts a suspended app as arrived).
    """
    watcher = _Watch(pushed, landed)
    with anyio.move_on_after(seconds):
        while True:
            if (verdict := await watcher.step(ask)) is not None:
                return verdict
            await anyio.sleep(poll)
    return watcher.timed_out(seconds)
