"""Plan of lint, test, integration, self-test, build and serve through the real dagger-io SDK.

This is a plan check against a fake engine, not an execution: no Dagger engine
can run here, so the SDK sends its queries to tests/pipeline/fake_engine.py,
which validates them against the real Dagger schema and records what WOULD
run. Command output is scripted where the module reads it. The last two tests run
self-test's shell commands for real, with stand-ins for the tools they start.
"""

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pipeline.steps.python_env import CODE, README_STUB

from pipeline import images, own_tests, workspace
from tests.pipeline.fake_engine import Call, FakeEngine
from tests.pipeline.plan_helpers import argv, env_of, exec_leaf, secret_vars
from tests.pipeline.plan_helpers import images as images_of

# anyio's plugin must see the marker at collection time to run async fixtures.
pytestmark = pytest.mark.anyio


async def test_lint_installs_the_lock_then_runs_ruff_and_mypy(
    engine: FakeEngine, pipeline: Any
) -> None:
    """lint = the dev lock (hashed), the service editable, ruff check, format check, mypy."""
    await pipeline.lint()
    leaf = exec_leaf(engine, "mypy")
    assert images_of(leaf) == [images.PYTHON]
    assert argv(leaf) == [
        ["pip", "install", "--require-hashes", "--no-deps", "-r", "requirements-dev.lock"],
        ["pip", "install", "--no-deps", "--no-build-isolation", "-e", "."],
        ["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"],
    ]  # fmt: skip


@pytest.mark.parametrize("check", ["lint", "test", "integration"])
async def test_every_check_installs_the_lock_before_the_code(
    engine: FakeEngine, pipeline: Any, check: str
) -> None:
    """The lock is installed from the lock file alone, so a code change keeps that step cached."""
    await getattr(pipeline, check)()
    (lock_install,) = {
        c.render(): c for c in engine.calls
        if c.field == "withExec" and c.args["args"] == workspace.install_locked()
    }.values()  # fmt: skip
    assert [c.args["path"] for c in lock_install.find("withFile")] == ["/src/requirements-dev.lock"]
    assert not lock_install.find("withDirectory")


async def test_checks_read_the_code_but_not_the_readme(engine: FakeEngine, pipeline: Any) -> None:
    """The checks' input is filtered to code, with a stub README, so README edits keep the cache."""
    await pipeline.lint()
    (code_filter,) = {
        c.render(): c for c in engine.called("filter") if "service/" in c.args["include"]
    }.values()
    assert "README.md" not in code_filter.args["include"]
    assert code_filter.args["include"] == CODE


def test_the_checks_input_leaves_out_what_only_self_test_reads() -> None:
    """Editing the module, scripts, workflows or manifests keeps lint and test cached."""
    assert not {"pipeline/", "scripts/", ".github/", "dagger.json", "k8s/"} & set(CODE)


async def test_test_returns_the_coverage_report(engine: FakeEngine, pipeline: Any) -> None:
    """test runs the unit tests with the 90% coverage gate and returns their output."""
    engine.answer("stdout", "TOTAL 100 3 97%")
    assert await pipeline.test() == "TOTAL 100 3 97%"
    assert argv(exec_leaf(engine, "pytest"))[-1] == [
        "pytest",
        "-m",
        "unit",
        "--cov",
        "--cov-fail-under=90",
    ]


async def test_integration_binds_postgres_as_db(engine: FakeEngine, pipeline: Any) -> None:
    """PostgreSQL runs as a service with its entrypoint, bound to the test container as `db`."""
    await pipeline.integration()
    (binding,) = exec_leaf(engine, "pytest").find("withServiceBinding")
    service = binding.arg_chain(engine, "service")
    assert binding.args["alias"] == "db"
    assert images_of(service) == [images.POSTGRES]
    assert service.find("asService")[0].args["useEntrypoint"] is True
    assert "POSTGRES_PASSWORD" in secret_vars(service)


async def test_integration_migrates_then_tests_with_db_settings(
    engine: FakeEngine, pipeline: Any
) -> None:
    """The DB_* settings point at `db`, the password is a secret, migrations run first."""
    await pipeline.integration()
    leaf = exec_leaf(engine, "pytest")
    expected = {"APP_ENV": "test", "DB_HOST": "db", "DB_PORT": "5432", "DB_NAME": "hello"}
    assert env_of(leaf).items() >= (expected | {"DB_USER": "hello"}).items()
    assert "DB_PASSWORD" in secret_vars(leaf)
    assert argv(leaf)[-2:] == [["hello-api", "migrate"], ["pytest", "-m", "integration"]]


async def test_integration_runs_with_ci_true_and_a_postgres_server(
    engine: FakeEngine, pipeline: Any
) -> None:
    """CI=true makes a missing service fail; the outage tests get server binaries to stop."""
    await pipeline.integration()
    leaf = exec_leaf(engine, "pytest")
    assert env_of(leaf)["CI"] == "true"
    assert any(
        "install -y -qq --no-install-recommends postgresql" in " ".join(a) for a in argv(leaf)
    )


async def test_build_uses_the_dockerfile_with_build_args(engine: FakeEngine, pipeline: Any) -> None:
    """build is docker_build of the root Dockerfile with BASE_IMAGE, VERSION, GIT_SHA, CREATED."""
    await pipeline.build(
        platform="linux/arm64", version="1.2.0", revision="abc123", created="2026-11-26T00:00:00Z"
    ).sync()
    (build,) = engine.called("sync")[-1].find("dockerBuild")
    args = {a["name"]: a["value"] for a in build.args["buildArgs"]}
    assert build.args["dockerfile"] == "Dockerfile"
    assert build.args["platform"] == "linux/arm64"
    assert args == {
        "BASE_IMAGE": images.PYTHON,
        "VERSION": "1.2.0",
        "GIT_SHA": "abc123",
        "CREATED": "2026-11-26T00:00:00Z",
    }


async def test_build_all_builds_one_variant_per_platform(engine: FakeEngine, pipeline: Any) -> None:
    """Several platforms give several containers, one docker_build each."""
    variants = pipeline.build_all(platforms=["linux/amd64", "linux/arm64"])
    for variant in variants:
        await variant.sync()
    assert [c.find("dockerBuild")[0].args["platform"] for c in engine.called("sync")] == [
        "linux/amd64",
        "linux/arm64",
    ]


async def test_serve_runs_the_migrated_image_with_postgres(
    engine: FakeEngine, pipeline: Any
) -> None:
    """serve is the built image, migrated, serving on 8000, with PostgreSQL bound as db."""
    await pipeline.serve().id()
    service = engine.called("id")[-1].parent
    assert service.find("dockerBuild")
    assert service.find("withExposedPort")[0].args["port"] == 8000
    assert service.find("asService")[0].args["args"] == ["hello-api", "serve"]
    assert argv(service) == [["hello-api", "migrate"]]
    assert service.find("withServiceBinding")[0].args["alias"] == "db"


async def _self_test(engine: FakeEngine, pipeline: Any, **arguments: str) -> Call:
    """Plan self-test; return its final chain (the last one that runs ruff)."""
    await pipeline.self_test(**arguments)
    return exec_leaf(engine, "ruff")


async def test_self_test_installs_the_lock_with_the_service_and_the_module(
    engine: FakeEngine, pipeline: Any
) -> None:
    """self-test installs the same lock, then the service and pipeline/ editable."""
    commands = argv(await _self_test(engine, pipeline))
    assert commands[-5:-3] == workspace.install(".", "./pipeline")


async def test_self_test_installs_the_tools_as_scripts_test_does(
    engine: FakeEngine, pipeline: Any
) -> None:
    """Debian packages, then every scripts/tools installer but tests/container's, in /tools."""
    leaf = await _self_test(engine, pipeline)
    apt, installers = argv(leaf)[:2]
    assert "--no-install-recommends git curl nodejs npm postgresql docker-registry" in apt[-1]
    assert installers == own_tests.install_tools()
    assert env_of(leaf)["TOOLS_DIR"] == "/tools"
    link = leaf.find("withSymlink")[0].args
    assert (link["target"], link["linkName"]) == ("/tools", "/src/.tools")
    assert leaf.find("withEnvVariable")[-1].args == {
        "name": "PATH", "value": "/tools/bin:${PATH}", "expand": True
    }  # fmt: skip


async def test_self_test_takes_go_and_cosign_from_their_images(
    engine: FakeEngine, pipeline: Any
) -> None:
    """Go (to build actionlint) from the Go image; cosign is the pipeline's own cosign image."""
    leaf = await _self_test(engine, pipeline, golang_image="mirror.local/golang:1.26.8")
    (go,) = [c for c in leaf.find("withDirectory") if c.args["path"] == "/usr/local/go"]
    (cosign,) = [c for c in leaf.find("withFile") if c.args["path"].endswith("/cosign")]
    assert images_of(go.arg_chain(engine, "source")) == ["mirror.local/golang:1.26.8"]
    assert images_of(cosign.arg_chain(engine, "source")) == [images.COSIGN]


async def test_self_test_lints_the_module_then_runs_both_suites_with_ci_true(
    engine: FakeEngine, pipeline: Any
) -> None:
    """ruff on pipeline/ and the other suites' tests; pytest -m "pipeline or k8s"; CI=true."""
    leaf = await _self_test(engine, pipeline)
    paths = ["pipeline", "tests/pipeline", "tests/k8s", "tests/container"]
    assert argv(leaf)[-3:-1] == [["ruff", "check", *paths], ["ruff", "format", "--check", *paths]]
    suites = ["pytest", "tests/pipeline", "tests/k8s", "-m", "pipeline or k8s"]
    assert argv(leaf)[-1][-len(suites) :] == suites
    assert env_of(leaf)["CI"] == "true"


async def test_self_test_starts_the_local_registry_the_cosign_tests_use(
    engine: FakeEngine, pipeline: Any
) -> None:
    """An anonymous registry on 127.0.0.1:5000 answers before pytest starts."""
    leaf = await _self_test(engine, pipeline)
    (config,) = [c for c in leaf.find("withNewFile") if c.args["path"].endswith(".yml")]
    script = argv(leaf)[-1][2]
    assert config.args["path"] in script
    assert "addr: 127.0.0.1:5000" in config.args["contents"]
    assert "auth" not in config.args["contents"]
    assert script.index("curl -fsS http://127.0.0.1:5000/v2/") < script.index('exec "$@"')


async def test_self_test_reads_the_source_but_a_stub_readme(
    engine: FakeEngine, pipeline: Any
) -> None:
    """The whole allowlisted source, with the README as a stub: README edits keep it cached."""
    await pipeline.self_test()
    stubs = {
        c.render(): c.args["contents"]
        for c in engine.called("withNewFile")
        if c.parent is not None and c.parent.args.get("exclude") == ["README.md"]
    }
    assert list(stubs.values()) == [README_STUB]


def test_self_test_is_a_check(registered: dict[str, Any]) -> None:
    """`dagger check` runs it, as it runs lint, test and integration."""
    functions = registered["Pipeline"]["functions"]
    assert functions["self_test"]["check"] is True
    assert set(functions["self_test"]["args"]) == {"golang_image"}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def test_the_installer_loop_runs_every_installer_but_containers(tmp_path: Path) -> None:
    """Run for real: each scripts/tools/*.sh runs once, container.sh not, a failure fails."""
    for name in ("k8s.sh", "pipeline.sh", "container.sh"):
        _write(tmp_path / "scripts" / "tools" / name, f"echo {name} >> ran\n")
    subprocess.run(own_tests.install_tools(), cwd=tmp_path, check=True)
    assert (tmp_path / "ran").read_text().split() == ["k8s.sh", "pipeline.sh"]
    _write(tmp_path / "scripts" / "tools" / "broken.sh", "exit 3\n")
    assert subprocess.run(own_tests.install_tools(), cwd=tmp_path).returncode == 3


def test_the_suites_start_after_the_registry_answers(tmp_path: Path) -> None:
    """Run for real (stand-ins for docker-registry and curl): serve, poll, then exec pytest."""
    _write(tmp_path / "docker-registry", f'echo "$@" > {tmp_path}/served\n')
    _write(tmp_path / "curl", f"test -f {tmp_path}/served\n")
    _write(tmp_path / "pytest", 'echo "pytest $*"\n')
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    done = subprocess.run(own_tests.tests(), env=env, capture_output=True, text=True, check=True)
    assert (tmp_path / "served").read_text().split() == ["serve", own_tests.REGISTRY_CONFIG_PATH]
    assert done.stdout == "pytest tests/pipeline tests/k8s -m pipeline or k8s\n"
