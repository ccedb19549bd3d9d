"""GitOps, pure: read and set the overlay's image digest, and the git command sequences.

`deploy` runs these argv lists in a git container; tests/k8s/test_gitops*.py run
the same lists against a real repository. The token never appears here: git asks
the credential helper of `CREDENTIAL_ENV`, which prints $GIT_TOKEN (a secret
variable) from inside git's own shell, so it reaches no argv and no file.
"""

import enum
import re
import shlex

import yaml

from pipeline.errors import ArgumentError, PipelineError


class Environment(enum.Enum):
    """Where `deploy` ships: each has its overlay under k8s/overlays/."""

    staging = "staging"
    """Pushed to the branch Argo CD follows; optionally followed and reverted."""
    production = "production"
    """A pull request promoting the digest staging runs, once its signature verifies."""


class ManifestError(PipelineError):
    """The kustomization is not in the shape `deploy` can edit safely."""


ENVIRONMENTS = tuple(e.value for e in Environment)
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
CLONE = "/repo"
IDENTITY = ["-c", "user.name=hello-api deploy", "-c", "user.email=deploy@hello-api.invalid"]
# git runs the helper in its shell: printf is a builtin, so the token is in no argv.
HELPER = (
    '!f() { test "$1" = get && printf "username=x-access-token\\npassword=%s\\n" "$GIT_TOKEN"; }; f'
)
CREDENTIAL_ENV = {
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "credential.helper",
    "GIT_CONFIG_VALUE_0": HELPER,
    "GIT_TERMINAL_PROMPT": "0",
}


def require_env(env: Environment | str) -> str:
    """The environment's name, if it is one of ENVIRONMENTS."""
    name = env.value if isinstance(env, Environment) else env
    if name not in ENVIRONMENTS:
        raise ArgumentError("env", f"must be staging or production, got {env!r}")
    return name


def overlay(env: Environment | str) -> str:
    """The kustomization file `deploy` edits for an environment."""
    return f"k8s/overlays/{require_env(env)}/kustomization.yaml"


def is_digest(digest: str) -> bool:
    """True for sha256: and 64 lower-case hex digits."""
    return DIGEST.fullmatch(digest) is not None


def split_ref(ref: str, argument: str = "image") -> tuple[str, str]:
    """(repository, digest) of `name[:tag]@sha256:...`; the tag is dropped, the digest rules."""
    name, mark, digest = ref.partition("@")
    if not (mark and name and is_digest(digest)):
        problem = "must be name@sha256: followed by 64 lower-case hex digits"
        raise ArgumentError(argument, f"{problem}, got {ref!r}")
    last = name.rsplit("/", 1)[-1]
    repository = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return repository, digest


def read_image(text: str) -> tuple[str, str]:
    """(newName, digest) of the kustomization's one `images:` entry."""
    entries = (yaml.safe_load(text) or {}).get("images") or []
    if len(entries) != 1 or not {"newName", "digest"} <= set(entries[0]):
        msg = "the kustomization must have exactly one images: entry with newName and digest"
        raise ManifestError(msg)
    digest = str(entries[0]["digest"])
    if not is_digest(digest):
        raise ManifestError(f"the kustomization's digest is not sha256:<64 hex>: {digest!r}")
    return str(entries[0]["newName"]), digest


def set_image(text: str, repository: str, digest: str) -> str:
    """The kustomization with the entry's newName and digest replaced, every other byte kept."""
    split_ref(f"{repository}@{digest}")
    read_image(text)
    edited = text
    for key, value in (("newName", repository), ("digest", digest)):
        line = re.compile(rf"^([ \t]+(?:- )?{key}:[ \t]*)\S+([ \t]*(?:#.*)?)$", re.MULTILINE)
        edited, count = line.subn(lambda m, v=value: f"{m[1]}{v}{m[2]}", edited)
        if count != 1:
            msg = f"expected one {key}: line in the images: entry, found {count}"
            raise ManifestError(msg)
    before, after = yaml.safe_load(text), yaml.safe_load(edited)
    before["images"][0].update(newName=repository, digest=digest)
    if before != after or read_image(edited) != (repository, digest):
        raise ManifestError("the edit changed more than the images: entry")
    return edited


def edit(text: str, ref: str) -> str | None:
    """The kustomization deploying `ref`; None when it already does (no empty commit)."""
    repository, digest = split_ref(ref)
    return None if read_image(text) == (repository, digest) else set_image(text, repository, digest)


def commit_message(env: str, ref: str, revision: str) -> str:
    """Names the environment, the digest and the revision it was built from."""
    repository, digest = split_ref(ref)
    return f"deploy({env}): {digest}\n\nImage: {repository}@{digest}\nSource revision: {revision}\n"


def clone(url: str, branch: str, dest: str = CLONE) -> list[str]:
    """Clone one branch of the repository."""
    return ["git", "clone", "--single-branch", "--branch", branch, url, dest]


def commit(path: str, message: str) -> list[list[str]]:
    """Stage and commit one file."""
    return [["git", "add", path], ["git", *IDENTITY, "commit", "-m", message, "--", path]]


def head() -> list[str]:
    """The commit checked out (the deploy commit once pushed: rebases rewrite it)."""
    return ["git", "rev-parse", "HEAD"]


def push_retrying(branch: str, attempts: int = 5) -> list[str]:
    """Push HEAD to the branch; a rejected (non-fast-forward) push rebases and retries."""
    push = shlex.join(["git", "push", "origin", f"HEAD:refs/heads/{branch}"])
    rebase = shlex.join(["git", *IDENTITY, "pull", "--rebase", "origin", branch])
    script = (
        f"for attempt in $(seq {attempts}); do\n"
        f"  if {push}; then exit 0; fi\n"
        f'  echo "push rejected (attempt $attempt): rebasing" >&2\n'
        f"  {rebase}\n"
        "done\n"
        'echo "push still rejected after {attempts} attempts" >&2; exit 1'
    ).replace("{attempts}", str(attempts))
    return ["sh", "-ec", script]


def new_branch(branch: str) -> list[list[str]]:
    """Push HEAD as a new branch (production: the pull request's head)."""
    return [["git", "push", "origin", f"HEAD:refs/heads/{branch}"]]


def reverted(commit_sha: str, branch: str) -> list[list[str]]:
    """A new commit that undoes the deploy commit, pushed (retrying like the deploy)."""
    return [["git", *IDENTITY, "revert", "--no-edit", commit_sha], push_retrying(branch)]


def pr_branch(env: str, digest: str, revision: str) -> str:
    """A branch name unique to the promotion."""
    if not is_digest(digest):
        raise ArgumentError("image", f"must name a sha256 digest, got {digest!r}")
    return f"deploy/{require_env(env)}-{digest[7:19]}-{revision[:12]}"
