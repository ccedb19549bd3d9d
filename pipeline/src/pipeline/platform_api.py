"""The HTTP APIs `deploy` talks to (GitHub pull requests, Argo CD health), pure.

The bearer token is a secret variable ($API_TOKEN); curl reads the header from
its stdin config, which `printf` (a shell builtin) writes: no argv, no file.
"""

import json
import re
import shlex

from pipeline.errors import ArgumentError


def api_request(url: str, body: str = "") -> list[str]:
    """GET `url`, or POST the JSON file `body` to it, with the token from $API_TOKEN."""
    data = ["-X", "POST", "-H", "Content-Type: application/json", "--data-binary", f"@{body}"]
    curl = ["curl", "-fsS", "--max-time", "30", "--config", "-", *(data if body else []), url]
    header = 'printf \'header = "Authorization: Bearer %s"\\n\' "$API_TOKEN"'
    return ["sh", "-ec", f"{header} | {shlex.join(curl)}"]


def pulls_url(repository: str) -> str:
    """The GitHub API's pull requests of a clone URL (https://github.com/OWNER/NAME[.git])."""
    match = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?/?", repository)
    if not match:
        problem = "must be https://github.com/OWNER/NAME[.git] to open a pull request"
        raise ArgumentError("repository", f"{problem}, got {repository!r}")
    return f"https://api.github.com/repos/{match[1]}/pulls"


def open_pulls_url(repository: str, branch: str) -> str:
    """The open pull requests whose head is `branch` of the repository itself."""
    owner = pulls_url(repository).split("/repos/", 1)[1].split("/", 1)[0]
    return f"{pulls_url(repository)}?state=open&head={owner}:{branch}"


def existing_pr(answer: str) -> str:
    """The web address of the first pull request listed in the API's answer ("" when none)."""
    listed = json.loads(answer or "[]")
    return str(listed[0].get("html_url") or "") if isinstance(listed, list) and listed else ""


def pull_request(head: str, base: str, message: str) -> str:
    """The create-pull-request payload: the commit message's subject and body."""
    title, _, body = message.partition("\n")
    return json.dumps({"title": title, "head": head, "base": base, "body": body.strip()})


def pr_url(answer: str) -> str:
    """The pull request's web address from the API's answer."""
    return str(json.loads(answer or "{}").get("html_url") or answer)


def application_url(server: str, app: str) -> str:
    """Argo CD's API address of an Application."""
    if not server.startswith("https://"):
        raise ArgumentError("argocd_server", f"must be an https:// URL, got {server!r}")
    return f"{server.rstrip('/')}/api/v1/applications/{app}"


def app_health(answer: str) -> str:
    """The Application's health (Healthy, Progressing, Degraded, ...) from its JSON."""
    health = (json.loads(answer or "{}").get("status") or {}).get("health") or {}
    return str(health.get("status") or "Unknown")
