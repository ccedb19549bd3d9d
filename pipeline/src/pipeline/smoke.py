"""The smoke test of a running service, pure: one POSIX sh + curl script.

`smoke` runs it in the curl image; an Argo Rollouts analysis Job can run the same
argv (`python -c 'from pipeline.smoke import smoke_command; print(...)'` prints it).

Two sets of checks, because the public host serves less than the pods do
(k8s/base/ingress.yaml routes `/api` only, everything else is 404 at the edge):
- PUBLIC (`in_cluster=False`, the default), for the public host: a greeting, and the
  problem document a bad name gets (400, `application/problem+json`: proof that the service itself
  answered, not the ingress controller's default backend).
- IN_CLUSTER (`in_cluster=True`), for a Service or pod URL inside the cluster:
  `/health/live`, `/health/ready`, a greeting and `/metrics`.
Which one a URL needs cannot be told from the URL, so the caller says it.

Each check has a timeout; a 2xx check retries connection errors and any other answer.
"""

import shlex
from dataclasses import dataclass

from pipeline.errors import ArgumentError


@dataclass(frozen=True)
class Check:
    """A path, the status (and media type, if given) its answer must have, a string in it."""

    path: str
    expected: str
    status: int = 200
    media_type: str = ""


GREETING = Check("/api/v1/greeting?name=Smoke", "Hello, Smoke!")
# "!" breaks the name rule: 400 with a problem naming the field (docs/CONTRACTS.md).
PROBLEM = Check("/api/v1/greeting?name=%21", '"field":"name"', 400, "application/problem+json")
PUBLIC = (GREETING, PROBLEM)
IN_CLUSTER = (
    Check("/health/live", '"status":"ok"'),
    Check("/health/ready", '"status":"ok"'),
    GREETING,
    Check("/metrics", "# TYPE"),
)

# check URL STATUS TYPE TEXT. A 2xx is asked with -f and --retry-all-errors, so any other
# answer is retried until it comes or the attempts are spent; another status is asked
# without them (curl --retry still retries timeouts, 408, 429 and 5xx). curl writes
# "STATUS TYPE" on a last line of its own; the body, spaces removed, must contain TEXT.
_CHECK = """check() {
  case "$2" in 2??) strict="-f --retry-all-errors" ;; *) strict= ;; esac
  answer=$(curl $strict -sS --max-time TIMEOUT --retry RETRIES --retry-delay DELAY \\
    -w '\\n%{http_code} %{content_type}' "$1") ||
    { echo "smoke: $1 did not answer $2" >&2; exit 1; }
  meta=$(printf '%s\\n' "$answer" | tail -n 1)
  case "$meta" in "$2 $3"*) ;; *) echo "smoke: $1 answered $meta, not $2 $3" >&2; exit 1 ;; esac
  case "$(printf '%s\\n' "$answer" | sed '$d' | tr -d ' ')" in
    *"$4"*) echo "smoke: $1 ok" ;;
    *) echo "smoke: $1 lacks $4" >&2; exit 1 ;;
  esac
}"""


def smoke_command(
    url: str, attempts: int = 10, timeout: int = 5, delay: int = 3, *, in_cluster: bool = False
) -> list[str]:
    """Check the service at `url` (PUBLIC, or IN_CLUSTER); fail naming the first failure."""
    base = require_url(url).rstrip("/")
    for name, value in (("attempts", attempts), ("request_seconds", timeout)):
        if value < 1:
            raise ArgumentError(name, f"must be at least 1, got {value}")
    numbers = {"TIMEOUT": timeout, "RETRIES": attempts - 1, "DELAY": delay}
    function = _CHECK
    for word, value in numbers.items():
        function = function.replace(word, str(value))
    checks = IN_CLUSTER if in_cluster else PUBLIC
    lines = [function] + [
        shlex.join(
            ["check", base + c.path, str(c.status), c.media_type, c.expected.replace(" ", "")]
        )
        for c in checks
    ]
    return ["sh", "-ec", "\n".join(lines)]


def require_url(url: str) -> str:
    """The URL, if it is http(s)://..."""
    if not url.startswith(("http://", "https://")):
        raise ArgumentError("url", f"must start with http:// or https://, got {url!r}")
    return url
