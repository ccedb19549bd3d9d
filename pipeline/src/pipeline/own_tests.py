"""`self-test`'s tools and commands, pure: the repository's own pipeline and manifest tests.

tests/pipeline (plan tests on the fake engine, and the real trivy, cosign, actionlint,
check-jsonschema, git, sh and curl) and tests/k8s (a real kustomize, the schemas,
checkov) run in one Python container with the tools scripts/tools installs on a
developer's machine, under CI=true: a missing tool fails, it is never skipped.
"""

from typing import Final

# The Go toolchain that `go install`s actionlint (scripts/tools/pipeline.sh). Only its
# /usr/local/go (statically linked) is copied into the Python container.
GOLANG: Final = "golang:1.26.8"
# git: the GitOps harness of tests/k8s; curl: smoke's script; Node.js and npm: the CRD
# validator and its schemas (scripts/tools/k8s.sh); postgresql: the server the check
# steps' commands are tried on; docker-registry: the local registry the cosign tests
# push to (what scripts/docker-up.sh gives them, without Docker).
APT_PACKAGES: Final = ["git", "curl", "nodejs", "npm", "postgresql", "docker-registry"]
# Where scripts/tools/lib.bash installs (TOOLS_DIR), linked as the checkout's .tools/ where
# the tests look. Not in /src itself: the upload has no .git, so ruff would not honour
# .gitignore there and `ruff check .` would lint the tools (it does not follow links).
TOOLS_DIR: Final = "/tools"
TOOLS_LINK: Final = "/src/.tools"
# Installers not run: tests/container needs a Docker engine, so neither it nor its
# tools (cosign comes from the pipeline's own cosign image instead) are part of this.
SKIPPED_INSTALLERS: Final = ["container.sh"]
# The folder markers of the two suites (tests/conftest.py): every test in them runs.
MARKERS: Final = "pipeline or k8s"
TEST_PATHS: Final = ["tests/pipeline", "tests/k8s"]
# What `lint` does not read: the module and the tests of the other suites. ruff only:
# mypy --strict does not pass on pipeline/ yet (dagger-io's decorators are untyped).
LINT_PATHS: Final = ["pipeline", "tests/pipeline", "tests/k8s", "tests/container"]
REGISTRY: Final = "127.0.0.1:5000"
# Debian's default configuration asks for htpasswd logins; the tests push anonymously.
REGISTRY_CONFIG_PATH: Final = "/etc/docker/registry/self-test.yml"
REGISTRY_CONFIG: Final = f"""\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: /var/lib/docker-registry
  delete:
    enabled: true
http:
  addr: {REGISTRY}
"""


def apt_install() -> list[str]:
    """Install the Debian packages the tests run."""
    packages = " ".join(APT_PACKAGES)
    return [
        "sh", "-c",
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq"
        f" --no-install-recommends {packages} >/dev/null",
    ]  # fmt: skip


def install_tools() -> list[str]:
    """Run every scripts/tools installer but the skipped ones, as scripts/test does."""
    skipped = "|".join(f"scripts/tools/{name}" for name in SKIPPED_INSTALLERS)
    loop = f'for i in scripts/tools/*.sh; do case "$i" in {skipped}) ;; *) bash "$i" ;; esac; done'
    return ["bash", "-euo", "pipefail", "-c", loop]


def lint() -> list[list[str]]:
    """ruff (lint, then format check) on what `lint` does not cover."""
    return [["ruff", "check", *LINT_PATHS], ["ruff", "format", "--check", *LINT_PATHS]]


def tests() -> list[str]:
    """Start the local registry, wait until it answers, then run the two suites."""
    start = (
        f"docker-registry serve {REGISTRY_CONFIG_PATH} >/tmp/registry.log 2>&1 </dev/null &"
        f" for _ in $(seq 100); do curl -fsS http://{REGISTRY}/v2/ >/dev/null 2>&1 && break;"
        ' sleep 0.1; done; exec "$@"'
    )
    return ["sh", "-c", start, "sh", "pytest", *TEST_PATHS, "-m", MARKERS]
