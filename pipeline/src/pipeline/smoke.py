"""The smoke test of a running service, pure: one POSIX sh + curl script.

`smoke` runs it in the curl image; an Argo Rollouts analysis Job can run the same
argv (`python -c 'from pipeline.smoke import smoke_command; print(...)'` prints it).
Each check retries (connection errors and non-2xx alike) and has a timeout.
"""

import shlex

from pipeline.errors import ArgumentError

# Path, and a fixed string its answer must contain.
CHECKS = (
    ("/health/live", '"status":"ok"'),
    ("/health/ready", '"status":"ok"'),
    ("/api/v1/greeting?name=Smoke", "Hello, Smoke!"),
    ("/metrics", "# TYPE"),
)


def smoke_command(url: str, attempts: int = 10, timeout: int = 5, delay: int = 3) -> list[str]:
    """Check every CHECKS path of the service at `url`; fail naming the first that fails."""
    base = require_url(url).rstrip("/")
    for name, value in (("attempts", attempts), ("request_seconds", timeout)):
        if value < 1:
            raise ArgumentError(name, f"must be at least 1, got {value}")
    lines = [
        f"check() {{\n  answer=$(curl -fsS --max-time {timeout} --retry {attempts - 1}"
        f' --retry-all-errors --retry-delay {delay} "$1") || '
        '{ echo "smoke: $1 did not answer 2xx" >&2; exit 1; }\n'
        '  case "$(printf %s "$answer" | tr -d " ")" in *"$2"*) echo "smoke: $1 ok" ;;'
        ' *) echo "smoke: $1 lacks $2" >&2; exit 1 ;; esac\n}'
    ]
    lines += [
        shlex.join(["check", base + path, expected.replace(" ", "")]) for path, expected in CHECKS
    ]
    return ["sh", "-ec", "\n".join(lines)]


def require_url(url: str) -> str:
    """The URL, if it is http(s)://..."""
    if not url.startswith(("http://", "https://")):
        raise ArgumentError("url", f"must start with http:// or https://, got {url!r}")
    return url
