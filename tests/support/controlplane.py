"""A real Kubernetes control plane on loopback, for tests/rehearsal (docs/rehearsal.md).

etcd, kube-apiserver, kube-controller-manager and kube-scheduler as they run in a
cluster; kwok in place of kubelets (one simulated node: pods are scheduled, become
Running and Ready, Job pods complete; no container runs); the Argo Rollouts controller
with its CRDs. Every process listens on 127.0.0.1 on a free port, with certificates and
a kubeconfig made for this run in a temporary directory that `running()` deletes.
`scripts/tools/controlplane.sh` builds the binaries into .tools/; missing ones skip
locally and fail with CI=true (tests.conftest.missing).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

from tests.support.postgres import free_port

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools"
SHARE = TOOLS / "controlplane"
CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
CONTROLLERS = ("kwok", "rollouts-controller", "kubectl")
NODE = "kwok-node-0"
# kwok manages only nodes carrying this annotation (the kwok docs' convention).
KWOK_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
SERVICE_RANGE = "10.96.0.0/16"
EC = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"  # P-256 keys: fast to make
STARTUP_SECONDS = 90.0

Manifest = dict[str, Any]


def binary(name: str) -> str | None:
    """The tool from .tools/bin, else from PATH; None when neither has it."""
    built = TOOLS / "bin" / name
    return str(built) if built.exists() else shutil.which(name)


def require(names: Sequence[str]) -> dict[str, str]:
    """Each tool's path; a missing one skips locally and fails with CI=true."""
    from tests.conftest import missing  # here: tests.conftest may still be loading

    found = {name: binary(name) for name in names}
    absent = sorted(name for name, path in found.items() if path is None)
    if absent:
        missing(f"{', '.join(absent)} not found: run scripts/tools/controlplane.sh")
    return {name: str(path) for name, path in found.items()}


@dataclass
class Process:
    """One component, its output going to a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, name: str, argv: Sequence[str], logs: Path, **kwargs: Any) -> Process:
        """Start `argv`; stdout and stderr go to LOGS/NAME.log."""
        log = logs / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, **kwargs)
        return cls(name, popen, log)

    def tail(self, lines: int = 25) -> str:
        """The end of what it printed."""
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited after 10 s."""
        if self.popen.poll() is None:
            self.popen.terminate()
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


@dataclass
class Certificates:
    """The run's CA, the apiserver's serving pair, an admin client pair, the SA key pair."""

    directory: Path

    @classmethod
    def create(cls, directory: Path) -> Certificates:
        """Generate everything with openssl (EC P-256; RSA for service-account tokens)."""
        certs = cls(directory)
        ca = f"req -x509 {EC} -days 2 -keyout ca.key -out ca.crt -subj /CN=rehearsal-ca"
        certs._openssl(ca)
        server_names = "IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc"
        certs._issue("apiserver", "/CN=kube-apiserver", f"subjectAltName={server_names}")
        certs._issue("admin", "/O=system:masters/CN=rehearsal-admin", "extendedKeyUsage=clientAuth")
        certs._openssl("genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key")
        certs._openssl("pkey -in sa.key -pubout -out sa.pub")
        return certs

    def path(self, name: str) -> str:
        return str(self.directory / name)

    def _issue(self, name: str, subject: str, extension: str) -> None:
        """A leaf certificate signed by the CA."""
        signed = "-CA ca.crt -CAkey ca.key -addext basicConstraints=critical,CA:FALSE"
        command = f"req -x509 {EC} -days 2 -keyout {name}.key -out {name}.crt {signed}"
        self._openssl(command, "-subj", subject, "-addext", extension)

    def _openssl(self, command: str, *args: str) -> None:
        """openssl with `command`'s words (no quoting needed in them), then `args`."""
        done = subprocess.run(
            [require(["openssl"])["openssl"], *command.split(), *args],
            cwd=self.directory,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"openssl {command} failed: {done.stderr}"


@dataclass
class ControlPlane:
    """The running components, the API's address and how to talk to it."""

    root: Path
    tools: dict[str, str]
    certs: Certificates
    server: str = ""
    processes: list[Process] = field(default_factory=list)
    _api: httpx.Client | None = None

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def start(
        self, name: str, *args: str, env: dict[str, str] | None = None, tool: str = ""
    ) -> Process:
        """Start a component: the binary `tool` (default: `name`) found by `require`."""
        program = self.tools[tool or name]
        process = Process.start(name, [program, *args], self.logs, env=env)
        self.processes.append(process)
        return process

    def client(self) -> httpx.Client:
        """An HTTPS client of the apiserver with the admin certificate."""
        tls = ssl.create_default_context(cafile=self.certs.path("ca.crt"))
        tls.load_cert_chain(self.certs.path("admin.crt"), self.certs.path("admin.key"))
        return httpx.Client(base_url=self.server, verify=tls, timeout=30)

    @property
    def api(self) -> httpx.Client:
        """One shared client (httpx clients are thread-safe) for the many small requests."""
        if self._api is None:
            self._api = self.client()
        return self._api

    def get(self, path: str) -> Manifest | None:
        """The object at an API path; None when it does not exist."""
        answer = self.api.get(path)
        if answer.status_code == 404:
            return None
        assert answer.status_code == 200, f"GET {path}: {answer.status_code} {answer.text}"
        return dict(answer.json())

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        """Run kubectl against this control plane; with `check`, fail with its output."""
        done = subprocess.run(
            [self.tools["kubectl"], "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if check:
            assert done.returncode == 0, f"kubectl {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done.stdout if done.returncode == 0 else done.stdout + done.stderr

    def apply(self, docs: Sequence[Manifest], namespace: str | None = None) -> None:
        """`kubectl apply` (client-side, three-way, as Argo CD applies by default): fields
        a controller added, like the Rollouts controller's Service selector hash, stay.
        A forced server-side apply would reset Service selectors (an atomic map)."""
        scope = ["--namespace", namespace] if namespace else []
        self.kubectl("apply", *scope, "-f", "-", stdin=yaml.safe_dump_all(list(docs)))

    def wait(self, what: str, probe: Callable[[], T | None], timeout: float = 120) -> T:
        """Poll `probe` until it returns something; fail naming `what` (and any dead
        component with the end of its log) when the time is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if (found := probe()) is not None:
                return found
            time.sleep(0.5)
        raise AssertionError(f"waited {timeout:g} s for {what}")

    def check_alive(self) -> None:
        """Fail with the end of its log when a component has exited."""
        for process in self.processes:
            if process.popen.poll() is not None:
                raise AssertionError(
                    f"{process.name} exited ({process.popen.returncode}):\n{process.tail()}"
                )

    def stop(self) -> None:
        """Stop every component, newest first."""
        if self._api is not None:
            self._api.close()
        for process in reversed(self.processes):
            process.stop()


def start_etcd(plane: ControlPlane) -> str:
    """etcd on two free ports (no fsync: throw-away data); returns its client URL."""
    client, peer = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    plane.start(
        "etcd",
        "--name",
        "rehearsal",
        "--data-dir",
        str(plane.root / "etcd"),
        "--listen-client-urls",
        client,
        "--advertise-client-urls",
        client,
        "--listen-peer-urls",
        peer,
        "--initial-advertise-peer-urls",
        peer,
        "--initial-cluster",
        f"rehearsal={peer}",
        "--unsafe-no-fsync",
        "--log-level",
        "warn",
    )
    plane.wait("etcd /health", lambda: _answers(f"{client}/health"), STARTUP_SECONDS)
    return client


def start_apiserver(plane: ControlPlane, etcd: str) -> None:
    """kube-apiserver on a free port, serving 127.0.0.1 (hence no endpoint reconciler)."""
    port = free_port()
    plane.server = f"https://127.0.0.1:{port}"
    certs = plane.certs
    plane.start(
        "kube-apiserver",
        f"--etcd-servers={etcd}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        "--advertise-address=127.0.0.1",
        "--endpoint-reconciler-type=none",
        f"--service-cluster-ip-range={SERVICE_RANGE}",
        f"--tls-cert-file={certs.path('apiserver.crt')}",
        f"--tls-private-key-file={certs.path('apiserver.key')}",
        f"--client-ca-file={certs.path('ca.crt')}",
        f"--service-account-key-file={certs.path('sa.pub')}",
        f"--service-account-signing-key-file={certs.path('sa.key')}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--authorization-mode=Node,RBAC",
        "--allow-privileged=true",
        "--profiling=false",
    )
    _write_kubeconfig(plane)

    def ready() -> bool | None:
        with contextlib.suppress(httpx.HTTPError), plane.client() as api:
            return True if api.get("/readyz").status_code == 200 else None
        return None

    plane.wait("kube-apiserver /readyz", ready, STARTUP_SECONDS)


def _write_kubeconfig(plane: ControlPlane) -> None:
    certs = plane.certs
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "rehearsal",
                "cluster": {"server": plane.server, "certificate-authority": certs.path("ca.crt")},
            }
        ],
        "users": [
            {
                "name": "admin",
                "user": {
                    "client-certificate": certs.path("admin.crt"),
                    "client-key": certs.path("admin.key"),
                },
            }
        ],
        "contexts": [{"name": "rehearsal", "context": {"cluster": "rehearsal", "user": "admin"}}],
        "current-context": "rehearsal",
    }
    plane.kubeconfig.write_text(yaml.safe_dump(config))


def start_controllers(plane: ControlPlane) -> None:
    """controller-manager and scheduler (kwok binds no pod: the scheduler must run)."""
    config = str(plane.kubeconfig)
    common = [
        f"--kubeconfig={config}",
        f"--authentication-kubeconfig={config}",
        f"--authorization-kubeconfig={config}",
        "--bind-address=127.0.0.1",
        "--leader-elect=false",
    ]
    plane.start(
        "kube-controller-manager",
        *common,
        f"--secure-port={free_port()}",
        f"--service-account-private-key-file={plane.certs.path('sa.key')}",
        f"--root-ca-file={plane.certs.path('ca.crt')}",
        f"--service-cluster-ip-range={SERVICE_RANGE}",
        # kwok's heartbeat comes every 20-45 s; a slow machine must not mark the
        # node NotReady and evict the pods under test.
        "--node-monitor-grace-period=5m",
    )
    plane.start("kube-scheduler", *common, f"--secure-port={free_port()}")


def start_kwok(plane: ControlPlane) -> None:
    """kwok with the stages scripts/tools/controlplane.sh copied, and its one node."""
    stages = sorted((SHARE / "kwok-stages").glob("*.yaml"))
    key, value = KWOK_ANNOTATION
    plane.start(
        "kwok",
        f"--kubeconfig={plane.kubeconfig}",
        "--manage-all-nodes=false",
        f"--manage-nodes-with-annotation-selector={key}={value}",
        f"--server-address=127.0.0.1:{free_port()}",
        *(f"--config={stage}" for stage in stages),
    )
    node = {  # no status: kwok's node-initialize stage fills it (1k CPUs, 1 Ti, 1M pods)
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": NODE,
            "annotations": {key: value},
            "labels": {
                "kubernetes.io/hostname": NODE,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
    }
    plane.apply([node])
    plane.wait(f"node {NODE} Ready", lambda: _node_ready(plane), STARTUP_SECONDS)


def _node_ready(plane: ControlPlane) -> bool | None:
    return _condition_true(plane.get(f"/api/v1/nodes/{NODE}"), "Ready")


def start_rollouts(plane: ControlPlane) -> None:
    """Argo Rollouts' CRDs (server-side: one annotation would be too long) and controller."""
    plane.kubectl("apply", "--server-side", "-k", str(SHARE / "rollouts-crds"))
    establish(plane, "rollouts.argoproj.io", "analysisruns.argoproj.io")
    plane.start(
        "rollouts-controller",
        f"--kubeconfig={plane.kubeconfig}",
        "--leader-elect=false",
        f"--healthzPort={free_port()}",
        f"--metricsPort={free_port()}",
    )


def establish(plane: ControlPlane, *crds: str) -> None:
    """Wait until each CRD serves its kind (condition Established)."""
    for crd in crds:
        path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd}"
        plane.wait(
            f"CRD {crd} established", lambda p=path: _condition_true(plane.get(p), "Established")
        )


def _condition_true(obj: Manifest | None, kind: str) -> bool | None:
    """True when the object's status condition `kind` is "True", else None (keep waiting)."""
    conditions = (obj or {}).get("status", {}).get("conditions") or []
    return True if any(c["type"] == kind and c["status"] == "True" for c in conditions) else None


def _answers(url: str) -> bool | None:
    with contextlib.suppress(httpx.HTTPError):
        return True if httpx.get(url, timeout=2).status_code == 200 else None
    return None


@contextlib.contextmanager
def running() -> Iterator[ControlPlane]:
    """The whole control plane, up and ready; stopped and deleted afterwards."""
    tools = require([*CONTROL_PLANE, *CONTROLLERS])
    root = Path(tempfile.mkdtemp(prefix="rehearsal-"))
    (root / "logs").mkdir()
    (root / "certs").mkdir()
    plane = ControlPlane(root, tools, Certificates.create(root / "certs"))
    try:
        start_apiserver(plane, start_etcd(plane))
        start_controllers(plane)
        start_kwok(plane)
        start_rollouts(plane)
        yield plane
    finally:
        plane.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Recording:
    """Every version of the objects a watch saw, and what went wrong while watching."""

    objects: list[Manifest] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # time.monotonic() of each object
    errors: list[str] = field(default_factory=list)

    def first(self, matches: Callable[[Manifest], bool]) -> float | None:
        """When the first matching version arrived (time.monotonic()), None if none did."""
        return next(
            (t for t, o in zip(self.arrivals, self.objects, strict=False) if matches(o)), None
        )


@contextlib.contextmanager
def watching(plane: ControlPlane, path: str) -> Iterator[Recording]:
    """Record every version of the objects under an API list path until the block ends.

    A watch (resumed from the last resourceVersion every few seconds), so a state that
    lasted only milliseconds is recorded too; polling could miss it.
    """
    recording, started, stop = Recording(), threading.Event(), threading.Event()

    def follow() -> None:
        version = ""
        with plane.client() as api:
            while not stop.is_set():
                params = {"watch": "true", "timeoutSeconds": "2"}
                params.update({"resourceVersion": version} if version else {})
                with api.stream("GET", path, params=params) as answer:
                    started.set()
                    for line in answer.iter_lines():
                        event = json.loads(line) if line else {}
                        if event.get("type") == "ERROR":
                            recording.errors.append(dump(event))
                        elif event:
                            version = event["object"]["metadata"]["resourceVersion"]
                            recording.objects.append(event["object"])
                            recording.arrivals.append(time.monotonic())

    def guarded() -> None:
        try:
            follow()
        except Exception as exc:
            recording.errors.append(f"{type(exc).__name__}: {exc}")
            started.set()

    thread = threading.Thread(target=guarded, daemon=True)
    thread.start()
    assert started.wait(30), f"the watch of {path} never started"
    try:
        yield recording
    finally:
        stop.set()
        thread.join(10)


ARGOCD = ("argocd-application-controller", "argocd-repo-server", "kustomize", "redis-server", "git")
ARGOCD_NAMESPACE = "argocd"


@dataclass
class ArgoCD:
    """Argo CD's application-controller and repo-server, and the git daemon they read."""

    git_base: Path
    git_port: int

    def repo_url(self, repository: Path) -> str:
        """The git:// address of a repository under `git_base`."""
        return f"git://127.0.0.1:{self.git_port}/{repository.relative_to(self.git_base)}"


@contextlib.contextmanager
def argocd(plane: ControlPlane, git_base: Path) -> Iterator[ArgoCD]:
    """Argo CD on the control plane, following repositories under `git_base` (served by
    `git daemon`, pushes allowed), until the block ends.

    As in a cluster, less the API server and UI: Application status is read from the
    kube-apiserver. ARGOCD_FAKE_IN_CLUSTER makes `https://kubernetes.default.svc` (the
    destination the Applications ship with) mean the kubeconfig's cluster
    (pkg/apis/application/v1alpha1/types.go, rawRestConfig).
    """
    tools = require(ARGOCD)
    plane.tools.update(tools)
    wrapper_dir = SHARE / "argocd" / "bin"
    if not (wrapper_dir / "git-verify-wrapper.sh").exists():
        require(["git-verify-wrapper.sh"])  # reports it missing the usual way
    plane.kubectl("apply", "--server-side", "-k", str(SHARE / "argocd" / "crds"))
    establish(plane, "applications.argoproj.io", "appprojects.argoproj.io")
    plane.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ARGOCD_NAMESPACE}}])
    plane.kubectl(
        "apply", "--server-side", "-n", ARGOCD_NAMESPACE, "-k", str(SHARE / "argocd" / "config")
    )
    git_port, redis, repo_server = free_port(), free_port(), free_port()
    plane.start(
        "git-daemon",
        "daemon",
        "--reuseaddr",
        f"--base-path={git_base}",
        "--export-all",
        "--enable=receive-pack",
        "--listen=127.0.0.1",
        f"--port={git_port}",
        str(git_base),
        tool="git",
    )
    env = _argocd_env(plane, wrapper_dir)
    plane.start(
        "redis-server",
        "--port",
        str(redis),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    )
    plane.start(
        "argocd-repo-server",
        "--address=127.0.0.1",
        f"--port={repo_server}",
        "--metrics-address=127.0.0.1",
        f"--metrics-port={free_port()}",
        f"--redis=127.0.0.1:{redis}",
        "--disable-tls",
        "--client-ca-path=",  # its default names a file of the in-cluster install
        env=env,
    )
    plane.start(
        "argocd-application-controller",
        f"--kubeconfig={plane.kubeconfig}",
        f"--namespace={ARGOCD_NAMESPACE}",
        f"--repo-server=127.0.0.1:{repo_server}",
        "--repo-server-plaintext",
        f"--redis=127.0.0.1:{redis}",
        f"--metrics-port={free_port()}",
        env=env,
    )
    plane.wait("git daemon", lambda: _listens(git_port), STARTUP_SECONDS)
    yield ArgoCD(git_base, git_port)


def _argocd_env(plane: ControlPlane, wrapper_dir: Path) -> dict[str, str]:
    """PATH with the git wrapper and kustomize; scratch directories inside the run's root."""
    home, scratch = plane.root / "argocd-home", plane.root / "argocd-tmp"
    home.mkdir(exist_ok=True)
    scratch.mkdir(exist_ok=True)
    path = os.pathsep.join([str(wrapper_dir), str(TOOLS / "bin"), os.environ.get("PATH", "")])
    return {
        **os.environ,
        "PATH": path,
        "HOME": str(home),
        "TMPDIR": str(scratch),
        "KUBECONFIG": str(plane.kubeconfig),
        "ARGOCD_FAKE_IN_CLUSTER": "true",
        "ARGOCD_GPG_ENABLED": "false",
    }


def _listens(port: int) -> bool | None:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return None


def dump(obj: Any) -> str:
    """JSON for a failure message."""
    return json.dumps(obj, indent=1, sort_keys=True)[:4000]
