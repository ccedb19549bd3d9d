"""Configuration read from the environment (12-factor), validated once at start-up."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from sqlalchemy.engine import URL, make_url

AppEnv = Literal["development", "test", "production"]
APP_ENVS: tuple[AppEnv, ...] = ("development", "test", "production")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
SSL_MODES = ("disable", "prefer", "require", "verify-ca", "verify-full")
SQLITE_DEFAULT_URL = "sqlite+aiosqlite:///./hello.db"
QUERY_TIMEOUT_SECONDS = 10.0  # DB_QUERY_TIMEOUT_SECONDS default
T = TypeVar("T", bound=str)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    """Where the database is and how to pool connections to it."""

    url: URL
    """SQLAlchemy URL with an async driver (asyncpg or aiosqlite)."""
    ssl: str = "disable"
    """asyncpg sslmode: disable, prefer, require, verify-ca or verify-full."""
    pool_size: int = 5
    """Connections kept open per process (PostgreSQL only)."""
    query_timeout_seconds: float | None = QUERY_TIMEOUT_SECONDS
    """Longest wait for one statement's answer (PostgreSQL only); None waits forever."""

    @property
    def is_sqlite(self) -> bool:
        """True for the zero-setup SQLite database."""
        return self.url.get_backend_name() == "sqlite"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service reads from its environment."""

    app_env: AppEnv = "development"
    """APP_ENV: development (SQLite default, migrates on start), test or production."""
    port: int = 8000
    """PORT: the TCP port the server listens on."""
    metrics_port: int | None = None
    """METRICS_PORT: serve /metrics on this port only (not on PORT), so a NetworkPolicy
    can let only the monitoring namespace reach it; unset: /metrics is on PORT."""
    database: DatabaseSettings = field(
        default_factory=lambda: DatabaseSettings(url=make_url(SQLITE_DEFAULT_URL))
    )
    """DATABASE_URL or DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD, with DB_SSL,
    DB_POOL_SIZE and DB_QUERY_TIMEOUT_SECONDS."""
    log_level: str = "info"
    """LOG_LEVEL: debug, info, warning, error or critical."""
    allowed_origins: tuple[str, ...] = ()
    """ALLOWED_ORIGINS: comma-separated origins allowed by CORS; empty turns CORS off."""
    max_body_bytes: int = 16 * 1024
    """MAX_BODY_BYTES: larger request bodies get 413."""
    body_read_timeout_seconds: float | None = 10.0
    """BODY_READ_TIMEOUT_SECONDS: a request body not all there this long after the first
    read gets 408 and frees its worker task (a client sending less than Content-Length);
    0 waits forever."""
    shutdown_drain_seconds: float = 0.0
    """SHUTDOWN_DRAIN_SECONDS: after SIGTERM, keep serving (readiness 503) this long."""
    shutdown_timeout_seconds: float = 20.0
    """SHUTDOWN_TIMEOUT_SECONDS: then wait at most this long for in-flight requests."""
    git_sha: str = "unknown"
    """GIT_SHA: the revision, reported by the build-info metric."""
    trace_trusted_peers: tuple[Network, ...] = ()
    """TRACE_TRUSTED_PEERS: comma-separated CIDRs whose incoming `traceparent` is
    continued, sampling decision included; from anyone else it is only linked, and the
    service's own sampler decides (no client can force 100% sampling). Empty: nobody."""
    max_traces_per_second: float | None = 10.0
    """MAX_TRACES_PER_SECOND: new traces this process starts a second at most, whatever
    OTEL_TRACES_SAMPLER_ARG's ratio gives at the current load (a caller's sampled trace
    is still continued); 0: no ceiling."""

    @property
    def migrate_on_start(self) -> bool:
        """Only development migrates implicitly; production runs `hello-api migrate`."""
        return self.app_env == "development"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the settings; raise ConfigError naming the bad variable."""
        env = os.environ if env is None else env
        app_env = _choice(env, "APP_ENV", APP_ENVS, "development")
        port = _integer(env, "PORT", 8000, low=1, high=65535)
        return cls(
            app_env=app_env,
            port=port,
            metrics_port=_metrics_port(env, port),
            database=database_settings(env, required=app_env == "production"),
            log_level=_choice(env, "LOG_LEVEL", LOG_LEVELS, "info"),
            allowed_origins=_origins(env.get("ALLOWED_ORIGINS", "")),
            max_body_bytes=_integer(env, "MAX_BODY_BYTES", 16 * 1024, low=1, high=2**30),
            body_read_timeout_seconds=_seconds(env, "BODY_READ_TIMEOUT_SECONDS", 10.0) or None,
            shutdown_drain_seconds=_seconds(env, "SHUTDOWN_DRAIN_SECONDS", 0.0),
            shutdown_timeout_seconds=_seconds(env, "SHUTDOWN_TIMEOUT_SECONDS", 20.0),
            git_sha=env.get("GIT_SHA", "unknown") or "unknown",
            trace_trusted_peers=_networks(env, "TRACE_TRUSTED_PEERS"),
            max_traces_per_second=_rate(env, "MAX_TRACES_PER_SECOND", 10.0) or None,
        )


def database_settings(env: Mapping[str, str], *, required: bool) -> DatabaseSettings:
    """DATABASE_URL wins; else DB_HOST and friends; else SQLite unless required."""
    ssl = _choice(
        env, "DB_SSL", SSL_MODES, "disable", aliases={"true": "require", "false": "disable"}
    )
    pool_size = _integer(env, "DB_POOL_SIZE", 5, low=1, high=200)
    timeout = _seconds(env, "DB_QUERY_TIMEOUT_SECONDS", QUERY_TIMEOUT_SECONDS) or None  # 0: off
    url = _server_url(env)
    if url is not None:
        return DatabaseSettings(url, ssl, pool_size, timeout)
    if required:
        raise ConfigError("DATABASE_URL (or DB_HOST) must be set when APP_ENV=production")
    return DatabaseSettings(url=make_url(SQLITE_DEFAULT_URL))


def _server_url(env: Mapping[str, str]) -> URL | None:
    """DATABASE_URL, or the URL DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD make, if set."""
    if raw := env.get("DATABASE_URL", "").strip():
        return _async_url(raw)
    if host := env.get("DB_HOST", "").strip():
        return URL.create(
            "postgresql+asyncpg",
            username=env.get("DB_USER") or None,
            password=env.get("DB_PASSWORD") or None,
            host=host,
            port=_integer(env, "DB_PORT", 5432, low=1, high=65535),
            database=env.get("DB_NAME") or None,
        )
    return None


def _async_url(raw: str) -> URL:
    """Parse DATABASE_URL, choosing the async driver for plain postgres/sqlite schemes."""
    try:
        url = make_url(raw)
    except Exception as exc:
        raise ConfigError(f"DATABASE_URL is not a valid database URL: {exc}") from None
    drivers = {"postgres": "postgresql+asyncpg", "postgresql": "postgresql+asyncpg"}
    drivers["sqlite"] = "sqlite+aiosqlite"
    if url.drivername in drivers:
        return url.set(drivername=drivers[url.drivername])
    if url.drivername not in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        raise ConfigError(f"DATABASE_URL scheme {url.drivername!r} is not supported")
    return url


def _choice(
    env: Mapping[str, str],
    name: str,
    allowed: tuple[T, ...],
    default: T,
    aliases: Mapping[str, T] | None = None,
) -> T:
    raw = env.get(name, "").strip().lower() or default
    value = (aliases or {}).get(raw, raw)
    for option in allowed:
        if option == value:
            return option
    raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {raw!r}")


def _integer(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number; got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}; got {value}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    return _number(env, name, default, high=3600, unit="a number of seconds")


def _rate(env: Mapping[str, str], name: str, default: float) -> float:
    return _number(env, name, default, high=1_000_000, unit="a number per second")


def _number(env: Mapping[str, str], name: str, default: float, *, high: int, unit: str) -> float:
    raw = env.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise ConfigError(f"{name} must be {unit}; got {raw!r}") from None
    if not 0 <= value <= high:
        raise ConfigError(f"{name} must be between 0 and {high}; got {raw!r}")
    return value


def _metrics_port(env: Mapping[str, str], port: int) -> int | None:
    if not env.get("METRICS_PORT", "").strip():
        return None
    metrics_port = _integer(env, "METRICS_PORT", 0, low=1, high=65535)
    if metrics_port == port:
        raise ConfigError(f"METRICS_PORT must differ from PORT; both are {port}")
    return metrics_port


def _networks(env: Mapping[str, str], name: str) -> tuple[Network, ...]:
    networks = []
    for raw in env.get(name, "").split(","):
        if not raw.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(raw.strip(), strict=False))
        except ValueError:
            raise ConfigError(f"{name} must list CIDRs like 10.0.0.0/8; got {raw!r}") from None
    return tuple(networks)


def _origins(raw: str) -> tuple[str, ...]:
    return tuple(origin.strip() for origin in raw.split(",") if origin.strip())
