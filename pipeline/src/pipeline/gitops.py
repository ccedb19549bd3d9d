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
COMMIT = re.compile(r"[0-9a-f]{7,40}")
# The trailers `deploy` writes: what runs after the commit, and which run made it.
RUNNING = re.compile(r"^Source revision: ([0-9a-f]{7,40})[ \t]*$", re.MULTILINE)
REVERTS = re.compile(r"This reverts commit ([0-9a-f]{40})")
DEPLOY_ID = "Deploy-Id"
# What `deploy` clones: a URL git reads as a repository, never as an option. Plain
# http:// is left out: the credential helper would hand the token over in clear.
REMOTE = re.compile(r"(?:(?:https|ssh|git|file)://|[\w.-]+@[\w.-]+:|/)[^\s]+")
# `git log` records: the commit, then its message, then a record separator.
RECORD = "\x1e"
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


def is_commit(revision: str) -> bool:
    """True for an abbreviated or full commit id (7 to 40 lower-case hex digits)."""
    return COMMIT.fullmatch(revision) is not None


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


def commit_message(env: str, ref: str, revision: str, deploy_id: str = "") -> str:
    """Names the environment, the digest, the revision it was built from and this run.

    `Deploy-Id` is unique to one run: after a rebase, it finds our commit (not HEAD,
    which may be someone else's when ours became empty).
    """
    repository, digest = split_ref(ref)
    message = f"deploy({env}): {digest}\n\nImage: {repository}@{digest}\n"
    message += f"Source revision: {revision}\n"
    return message + (f"{DEPLOY_ID}: {deploy_id}\n" if deploy_id else "")


def require_repository(url: str) -> str:
    """The repository URL, if git can only read it as one (a leading `-` would be an option)."""
    if not REMOTE.fullmatch(url):
        problem = (
            "must be a Git URL (https://, ssh://, git://, file://, user@host:path) "
            "or an absolute local path"
        )
        raise ArgumentError("repository", f"{problem}, got {url!r}")
    return url


def clone(url: str, branch: str, dest: str = CLONE) -> list[str]:
    """Clone one branch of the repository (`--`: the URL is never read as an option)."""
    return ["git", "clone", "--single-branch", "--branch", branch, "--", url, dest]


def commit(path: str, message: str) -> list[list[str]]:
    """Stage and commit one file."""
    return [["git", "add", path], ["git", *IDENTITY, "commit", "-m", message, "--", path]]


def head() -> list[str]:
    """The commit checked out."""
    return ["git", "rev-parse", "HEAD"]


def ours(deploy_id: str) -> list[str]:
    """Print the commit carrying this run's Deploy-Id on HEAD's history (empty: none).

    A rebase rewrites our commit, or drops it when someone pushed the same change first.
    """
    grep = f"--grep=^{DEPLOY_ID}: {deploy_id}$"
    return ["git", "log", "-1", "--format=%H", "--extended-regexp", grep, "HEAD"]


def fetch(branch: str) -> list[str]:
    """Fetch the followed branch: the commits Argo CD may show after ours."""
    return ["git", "fetch", "-q", "origin", f"+refs/heads/{branch}:refs/remotes/origin/{branch}"]


def show(revision: str, path: str) -> list[str]:
    """Print a file as a commit has it."""
    return ["git", "show", f"{revision}:{path}"]


def overlay_log(env: str) -> list[str]:
    """Print every commit that changed an overlay, newest first: id, message, separator."""
    return ["git", "log", f"--format=%H%n%B{RECORD}", "--", overlay(env)]


def running_revision(log_text: str) -> str:
    """The source revision an overlay runs, from `overlay_log`'s output ("" when unknown).

    The newest commit with a `Source revision:` that no later commit reverted (git's
    own "This reverts commit" line, which our revert and GitHub's Revert button write).
    A revert that was itself reverted undoes nothing: its targets run again.
    """
    reverted: set[str] = set()
    for record in log_text.split(RECORD):
        sha, _, message = record.strip().partition("\n")
        if sha not in reverted:
            reverted.update(REVERTS.findall(message))
        found = RUNNING.search(message)
        if sha and sha not in reverted and not REVERTS.search(message) and found:
            return found[1]
    return ""


def ancestry(running: str, wanted: str) -> list[str]:
    """Print whether `wanted` descends from `running`: descendant, diverged or unknown.

    Both are source commits of this repository (the one Argo CD follows is the source
    repository): a commit not in the clone is fetched by id first.
    """
    for name, value in (("running", running), ("wanted", wanted)):
        if not is_commit(value):
            raise ArgumentError("revision", f"must be a commit, got {name} {value!r}")
    have = 'git cat-file -e "$1^{commit}" 2>/dev/null || git fetch -q origin "$1" 2>/dev/null'
    script = (
        f"have() {{ {have}; }}\n"
        'if ! have "$1" || ! have "$2"; then echo unknown; exit 0; fi\n'
        'if git merge-base --is-ancestor "$1" "$2"; then echo descendant; else echo diverged; fi'
    )
    return ["sh", "-ec", script, "ancestry", running, wanted]


def forward_only(env: str, running: str, wanted: str, verdict: str, *, rollback: bool) -> str:
    """Why moving `env` from `running` to `wanted` is refused; "" when it may go ahead.

    Only forward: a late workflow run must not move an environment back to an older
    commit. `--rollback` allows it on purpose; a revision already running is no move.
    """
    if rollback or not running or wanted.startswith(running) or running.startswith(wanted):
        return ""
    if verdict.strip() == "descendant":
        return ""
    why = {"diverged": "is not a descendant of it (older, or on another line)"}.get(
        verdict.strip(), "cannot be compared with it (a commit is not in the repository)"
    )
    return (
        f"{env} runs source revision {running[:12]}; {wanted[:12]} {why}: refused so that a"
        " late run cannot roll it back. Pass --rollback to move it there on purpose"
    )


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


def promotion_push(branch: str) -> list[list[str]]:
    """Push HEAD as the pull request's head, replacing what a failed earlier run left there.

    The branch belongs to this promotion (pr_branch), so a re-run may overwrite it, but
    only from the state `ls-remote` saw just before (--force-with-lease with that value;
    empty: the branch must not exist): a concurrent run's push is not lost silently.
    """
    script = (
        'ref="refs/heads/$1"; seen=$(git ls-remote origin "$ref" | cut -f1)\n'
        'git push --force-with-lease="$ref:$seen" origin "HEAD:$ref"'
    )
    return [["sh", "-ec", script, "promote", branch]]


def reverted(commit_sha: str, branch: str) -> list[list[str]]:
    """A new commit that undoes the deploy commit, pushed (retrying like the deploy)."""
    return [["git", *IDENTITY, "revert", "--no-edit", commit_sha], push_retrying(branch)]


def pr_branch(env: str, digest: str, revision: str) -> str:
    """A branch name unique to the promotion: a re-run of the same one finds it again."""
    if not is_digest(digest):
        raise ArgumentError("image", f"must name a sha256 digest, got {digest!r}")
    return f"deploy/{require_env(env)}-{digest[7:19]}-{revision[:12]}"
