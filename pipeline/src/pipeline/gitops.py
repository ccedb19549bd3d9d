"""GitOps, pure: read and set the overlay's image digest, and the git command sequences.

`deploy` runs these argv lists in a git container; tests/k8s/test_gitops*.py run
the same lists against a real repository. The token never appears here: git asks
the credential helper of `CREDENTIAL_ENV`, which prints $GIT_TOKEN (a secret
variable) from inside git's own shell, so it reaches no argv and no file.
"""

import re
import shlex

import yaml

ENVIRONMENTS = ("staging", "production")
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


def require_env(env: str) -> str:
    """The environment's name, if it is one of ENVIRONMENTS."""
    if env not in ENVIRONMENTS:
        msg = f"env must be staging or production, got {env!r}"
        raise ValueError(msg)
    return env


def overlay(env: str) -> str:
    """The kustomization file `deploy` edits for an environment."""
    return f"k8s/overlays/{require_env(env)}/kustomization.yaml"


def require_digest(digest: str, argument: str = "digest") -> str:
    """The digest, if it is sha256: and 64 lower-case hex digits."""
    if not DIGEST.fullmatch(digest):
        msg = f"{argument} must be sha256: followed by 64 hex digits, got {digest!r}"
        raise ValueError(msg)
    return digest


def split_ref(ref: str, argument: str = "image") -> tuple[str, str]:
    """(repository, digest) of `name[:tag]@sha256:...`; the tag is dropped, the digest rules."""
    name, mark, digest = ref.partition("@")
    if not mark or not name:
        msg = f"{argument} must include a digest (name@sha256:...), got {ref!r}"
        raise ValueError(msg)
    last = name.rsplit("/", 1)[-1]
    repository = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return repository, require_digest(digest, argument=f"{argument}'s digest")


def read_image(text: str) -> tuple[str, str]:
    """(newName, digest) of the kustomization's one `images:` entry."""
    entries = (yaml.safe_load(text) or {}).get("images") or []
    if len(entries) != 1 or not {"newName", "digest"} <= set(entries[0]):
        msg = "the kustomization must have exactly one images: entry with newName and digest"
        raise ValueError(msg)
    return str(entries[0]["newName"]), require_digest(str(entries[0]["digest"]))


def set_image(text: str, repository: str, digest: str) -> str:
    """The kustomization with the entry's newName and digest replaced, every other byte kept."""
    require_digest(digest)
    read_image(text)
    edited = text
    for key, value in (("newName", repository), ("digest", digest)):
        line = re.compile(rf"^([ \t]+(?:- )?{key}:[ \t]*)\S+([ \t]*(?:#.*)?)$", re.MULTILINE)
        edited, count = line.subn(lambda m, v=value: f"{m[1]}{v}{m[2]}", edited)
        if count != 1:
            msg = f"expected one {key}: line in the images: entry, found {count}"
            raise ValueError(msg)
    before, after = yaml.safe_load(text), yaml.safe_load(edited)
    before["images"][0].update(newName=repository, digest=digest)
    if before != after or read_image(edited) != (repository, digest):
        raise ValueError("the edit changed more than the images: entry")
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
    return f"deploy/{require_env(env)}-{require_digest(digest)[7:19]}-{revision[:12]}"
