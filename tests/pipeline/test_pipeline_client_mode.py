"""Client mode end to end: `python -m pipeline ...` in a subprocess.

Plan checks against the fake engine, not executions: no Dagger engine can run
here, so the subprocess joins tests/pipeline/fake_engine.py through
DAGGER_SESSION_PORT/TOKEN as under `dagger run`; the engine records what the
real SDK sends. Where no engine can start, the command fails fast in one line.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from graphql import GraphQLError
from pipeline.client.grammar import Option
from pipeline.client.signatures import describe
from pipeline.source import SOURCE_IGNORE

from pipeline import Pipeline
from tests.pipeline.fake_engine import FakeEngine
from tests.pipeline.plan_helpers import CLEAN, REPORT, argv, exec_leaf, script_reports
from tests.pipeline.tools import ROOT

CANARY = "canary-client-mode-5e1d"  # a secret's plaintext: must never reach the engine
DIGEST = "registry.example/app@sha256:" + "a" * 64
SAMPLES = {"--url": "http://x", "--image": DIGEST, "--repository": "https://github.com/o/n",
           "--source-repository": "https://github.com/o/n"}  # fmt: skip


def _run(
    args: list[str], env: dict[str, str], cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DAGGER_")}
    command = [sys.executable, "-m", "pipeline", *args]
    env = base | {"SIGNING_KEY": CANARY} | env
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _client(engine: FakeEngine, *args: str) -> subprocess.CompletedProcess[str]:
    """Run client mode against the fake engine; it must end without a traceback."""
    done = _run(list(args), engine.env())
    assert "Traceback" not in done.stderr, done.stderr
    assert engine.rejected == []
    return done


def _uploads(engine: FakeEngine) -> set[tuple[str, tuple[str, ...]]]:
    """The host directories sent (each query repeats its chain), with their exclude lists."""
    calls = [c for c in engine.called("directory") if c.parent and c.parent.field == "host"]
    return {(c.args["path"], tuple(c.args["exclude"])) for c in calls}


def test_the_source_is_the_current_directory_allowlisted() -> None:
    """`lint` plans on the cwd uploaded with SOURCE_IGNORE, the list module mode ignores."""
    with FakeEngine() as engine:
        assert _client(engine, "lint").returncode == 0
        assert _uploads(engine) == {(str(ROOT), tuple(SOURCE_IGNORE))}
        assert argv(exec_leaf(engine, "mypy"))[-1] == ["mypy"]


def test_source_option_uploads_another_directory_the_same_way(tmp_path: Path) -> None:
    """`--source=DIR lint`: DIR with the same exclude list; no .git there, so no GitRef."""
    with FakeEngine() as engine:
        assert _client(engine, f"--source={tmp_path}", "lint").returncode == 0
        assert _uploads(engine) == {(str(tmp_path), tuple(SOURCE_IGNORE))}


def test_an_int_option_arrives_as_an_int() -> None:
    """`smoke --attempts 2`: curl retries once (attempts - 1), so 2 was a number."""
    with FakeEngine() as engine:
        assert _client(engine, "smoke", "--url=http://x", "--attempts", "2").returncode == 0
        (script,) = [a[2] for a in engine.execs() if a[:2] == ["sh", "-ec"]]
        assert "--retry 1 " in script


def test_a_list_option_builds_each_platform_and_syncs_it() -> None:
    """`build-all --platforms=a,b`: one build per platform, each synced before "built"."""
    with FakeEngine() as engine:
        done = _client(engine, "build-all", "--platforms=linux/amd64,linux/arm64")
        assert done.stdout == "build-all: built\n"
        platforms = {c.args.get("platform") for c in engine.called("dockerBuild")}
        assert platforms == {"linux/amd64", "linux/arm64"}
        assert len(engine.called("sync")) == 2


def test_a_bool_option_set_false_turns_it_off() -> None:
    """`audit --ignore-unfixed=false`: no Trivy command gets --ignore-unfixed."""
    with FakeEngine() as engine:
        script_reports(engine, CLEAN)
        done = _client(engine, "audit", "--ignore-unfixed=false")
        assert done.stdout == f"{ROOT / 'audit'}\n"
        trivy = [a for a in engine.execs() if a[0] == "trivy" and a[1] == "fs"]
        assert len(trivy) == 2
        assert not any("--ignore-unfixed" in a for a in trivy)


def test_an_enum_option_takes_a_member_in_any_case() -> None:
    """`deploy --env=Staging` arrives as the staging member: its overlay is the one read."""
    with FakeEngine() as engine:
        _client(engine, "deploy", "--env=Staging", "--repository=https://github.com/o/n",
                "--token=env://SIGNING_KEY", f"--image={DIGEST}")  # fmt: skip
        paths = {c.args.get("path") for c in engine.called("file")}
        assert "k8s/overlays/staging/kustomization.yaml" in paths


def test_a_file_option_is_read_from_the_host(tmp_path: Path) -> None:
    """`audit --trivyignore=PATH`: the host file at PATH is what Trivy reads."""
    ignore = tmp_path / "accepted.trivyignore"
    ignore.write_text("CVE-2024-0001\n")
    with FakeEngine() as engine:
        script_reports(engine, CLEAN)
        assert _client(engine, "audit", f"--trivyignore={ignore}").returncode == 0
        assert engine.leaf("file", lambda c: c.parent.field == "host").args["path"] == str(ignore)


def test_a_secret_option_is_a_uri_and_its_value_never_travels() -> None:
    """`sign --private-key=env://SIGNING_KEY`: the engine gets the URI, never the key."""
    with FakeEngine() as engine:
        done = _client(engine, "sign", f"--image={DIGEST}", "--private-key=env://SIGNING_KEY")
        assert done.returncode == 0, done.stderr
        assert engine.leaf("secret").args["uri"] == "env://SIGNING_KEY"
        assert CANARY not in engine.bodies()


def test_a_constructor_option_overrides_an_image() -> None:
    """`--trivy-image mirror/trivy:1 audit`: Trivy runs from the mirror."""
    with FakeEngine() as engine:
        script_reports(engine, CLEAN)
        assert _client(engine, "--trivy-image", "mirror/trivy:1", "audit").returncode == 0
        addresses = {c.args["address"] for c in engine.called("from")}
        assert "mirror/trivy:1" in addresses
        assert not any(a.startswith("aquasec/trivy") for a in addresses)


def test_a_returned_file_is_exported_with_its_suffixes() -> None:
    """`sbom` writes ./sbom.spdx.json and prints that path."""
    with FakeEngine() as engine:
        engine.answer(
            lambda c: c.field == "name" and c.parent.type_name == "File", "sbom.spdx.json"
        )
        done = _client(engine, "sbom")
        assert done.stdout == f"{ROOT / 'sbom.spdx.json'}\n"
        assert engine.leaf("export").args["path"] == str(ROOT / "sbom.spdx.json")


def test_a_returned_service_is_brought_up() -> None:
    """`serve`: the service is started with its ports forwarded (`up`), and the user is
    told the port is reachable beyond loopback (Dagger has no bind option, #6017)."""
    with FakeEngine() as engine:
        done = _client(engine, "serve")
        assert done.returncode == 0
        assert engine.called("up")
        assert "dagger/dagger#6017" in done.stderr


def test_a_bad_value_fails_in_one_line_before_connecting() -> None:
    """Exit 2, the option as typed, and not one request to the engine."""
    with FakeEngine() as engine:
        done = _run(["smoke", "--url=http://x", "--attempts=two"], engine.env())
        assert done.returncode == 2
        assert (
            done.stderr == "python -m pipeline smoke: --attempts: expected an integer, got 'two'\n"
        )
        assert engine.requests == []


def _fails_its_gate(function: str) -> subprocess.CompletedProcess[str]:
    """Run FUNCTION on findings above the gate: exit 1, one failure report, no traceback."""
    with FakeEngine() as engine:
        script_reports(engine, REPORT)
        done = _client(engine, function)
    assert done.returncode == 1
    assert done.stderr.startswith(f"python -m pipeline {function} failed:\n")
    return done


def test_a_gate_failure_is_one_message_and_exit_1() -> None:
    """`audit` with HIGH findings: the gate's message once, no traceback."""
    assert _fails_its_gate("audit").stderr.count("findings at or above HIGH") == 1


def test_a_failed_command_shows_the_tools_own_last_lines() -> None:
    """A failing exec ends as its stderr's last line, then the command and its exit code."""
    failure = GraphQLError(
        "exit code: 1 [traceparent:00-1-2-01]",
        extensions={"_type": "EXEC_ERROR", "cmd": ["sh", "-ec", "..."], "exitCode": 1,
                    "stdout": "", "stderr": "smoke: http://x/health/live did not answer 2xx"},
    )  # fmt: skip
    with FakeEngine() as engine:
        engine.answer("stdout", failure)
        done = _client(engine, "smoke", "--url=http://x")
        assert (done.returncode, done.stderr) == (
            1,
            "python -m pipeline smoke failed:\nsmoke: http://x/health/live did not answer 2xx"
            "\n\n`sh -ec ...` exited 1.\n",
        )


def test_ci_prints_its_summary_once() -> None:
    """The summary a person reads appears once (ci no longer prints it itself)."""
    with FakeEngine() as engine:
        script_reports(engine, CLEAN)
        done = _client(engine, "ci")
        assert done.returncode == 0
        assert done.stdout.count("| step |") == 1


def test_a_failing_ci_ends_as_its_summary_once() -> None:
    """A failed gate: exit 1, the summary once (as the failure's message), no traceback."""
    done = _fails_its_gate("ci")
    assert (done.stdout + done.stderr).count("| step |") == 1


@pytest.mark.parametrize("name", describe(Pipeline).functions)
def test_every_function_runs_from_the_command_line(name: str, tmp_path: Path) -> None:
    """Each function with its required arguments: valid queries, no traceback, exit 0 or 1."""
    (tmp_path / "in.json").write_text("{}")
    command = describe(Pipeline).functions[name]
    kinds = {"Secret": "env://SIGNING_KEY", "File": str(tmp_path / "in.json")}
    args = [
        f"{o.flag}={SAMPLES.get(o.flag) or kinds.get(o.kind.__name__) or _first_value(o)}"
        for o in command.options
        if o.required
    ]
    with FakeEngine() as engine:
        script_reports(engine, CLEAN)
        done = _client(engine, name, *args)
        assert done.returncode in (0, 1), done.stderr
        assert done.returncode == 0 or done.stderr.startswith(f"python -m pipeline {name} failed")


def _first_value(option: Option) -> str:
    choices = getattr(option.kind, "__members__", {})
    return next(iter(choices)) if choices else "staging" if option.flag == "--env" else "1"


def test_help_lists_the_functions_and_the_constructor_options() -> None:
    """`--help` needs no engine: every function with its one-line doc, and the options."""
    done = _run(["--help"], {})
    assert done.returncode == 0
    assert "  build-all  " in done.stdout
    assert "--trivy-image string" in done.stdout


def test_function_help_lists_arguments_with_one_default_each() -> None:
    """`smoke --help`: each argument's Doc, type and default, the default once."""
    done = _run(["smoke", "--help"], {})
    assert done.returncode == 0
    attempts = done.stdout.split("--attempts int\n")[1].split("\n  --")[0]
    assert attempts.count("Default") == 1


def test_without_an_engine_it_says_what_to_install(tmp_path: Path) -> None:
    """No session and no container runtime on PATH: exit 2, one line with the docs link."""
    done = _run(["ci"], {"PATH": str(tmp_path)})
    assert done.returncode == 2
    assert done.stderr.startswith("No Dagger engine can start here")
    assert "https://docs.dagger.io/install" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_failing_engine_start_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """A runtime but no startable engine (here a CLI that exits 1): one line, exit 1."""
    (tmp_path / "docker").symlink_to("/bin/true")
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "_EXPERIMENTAL_DAGGER_CLI_BIN": "/bin/false"}
    done = _run(["lint"], env)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("python -m pipeline lint failed: ")
    assert "Traceback" not in done.stderr


def test_an_unknown_function_is_named_with_a_suggestion() -> None:
    """A name that is not a function: exit 2 and the closest function."""
    done = _run(["buildall"], {})
    assert (done.returncode, done.stderr) == (
        2,
        "python -m pipeline: unknown function 'buildall'; did you mean build-all?\n",
    )
