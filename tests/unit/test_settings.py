"""Settings come from the environment and name the variable that is wrong."""

from __future__ import annotations

import pytest

from service.settings import ConfigError, Settings


def test_no_configuration_means_development_on_sqlite() -> None:
    """Zero setup: development, SQLite, migrations on start."""
    settings = Settings.from_env({})
    assert settings.app_env == "development"
    assert settings.database.is_sqlite
    assert settings.migrate_on_start


def test_production_without_a_database_names_the_variable() -> None:
    """APP_ENV=production and no database setting stops start-up."""
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        Settings.from_env({"APP_ENV": "production"})


def test_production_never_migrates_on_start() -> None:
    """The web process leaves migrations to `hello-api migrate`."""
    settings = Settings.from_env({"APP_ENV": "production", "DB_HOST": "db"})
    assert not settings.migrate_on_start


def test_db_parts_build_an_asyncpg_url_with_the_password_escaped() -> None:
    """DB_* variables make a URL; a password with @ and / survives."""
    env = {"DB_HOST": "db", "DB_PORT": "6432", "DB_NAME": "hello", "DB_USER": "app"}
    settings = Settings.from_env(env | {"DB_PASSWORD": "p@ss/word", "DB_POOL_SIZE": "9"})
    url = settings.database.url
    assert (url.drivername, url.host, url.port, url.database) == (
        "postgresql+asyncpg",
        "db",
        6432,
        "hello",
    )
    assert url.password == "p@ss/word"
    assert settings.database.pool_size == 9


@pytest.mark.parametrize(("raw", "seconds"), [("", 10.0), ("2.5", 2.5), ("0", None)])
def test_the_query_timeout_defaults_to_10_s_and_0_turns_it_off(
    raw: str, seconds: float | None
) -> None:
    """DB_QUERY_TIMEOUT_SECONDS bounds each statement; 0 means wait forever."""
    for server in ({"DB_HOST": "db"}, {"DATABASE_URL": "postgres://h/d"}):
        settings = Settings.from_env(server | {"DB_QUERY_TIMEOUT_SECONDS": raw})
        assert settings.database.query_timeout_seconds == seconds


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_plain_postgres_urls_get_the_async_driver(scheme: str) -> None:
    """DATABASE_URL=postgres://... is read as asyncpg."""
    settings = Settings.from_env({"DATABASE_URL": f"{scheme}://u:p@h/d"})
    assert settings.database.url.drivername == "postgresql+asyncpg"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PORT": "http"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"APP_ENV": "staging"}, "APP_ENV"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({"DB_HOST": "db", "DB_SSL": "maybe"}, "DB_SSL"),
        ({"DB_HOST": "db", "DB_POOL_SIZE": "0"}, "DB_POOL_SIZE"),
        ({"DB_HOST": "db", "DB_QUERY_TIMEOUT_SECONDS": "soon"}, "DB_QUERY_TIMEOUT_SECONDS"),
        ({"DATABASE_URL": "postgres://h/d", "DB_QUERY_TIMEOUT_SECONDS": "-1"}, "DB_QUERY_TIMEOUT"),
        ({"DATABASE_URL": "mysql://h/d"}, "DATABASE_URL"),
        ({"DATABASE_URL": "::not a url::"}, "DATABASE_URL"),
        ({"SHUTDOWN_TIMEOUT_SECONDS": "-1"}, "SHUTDOWN_TIMEOUT_SECONDS"),
        ({"SHUTDOWN_DRAIN_SECONDS": "soon"}, "SHUTDOWN_DRAIN_SECONDS"),
        ({"BODY_READ_TIMEOUT_SECONDS": "-2"}, "BODY_READ_TIMEOUT_SECONDS"),
        ({"TRACE_TRUSTED_PEERS": "10.0.0.0/8, the office"}, "TRACE_TRUSTED_PEERS"),
        ({"MAX_TRACES_PER_SECOND": "lots"}, "MAX_TRACES_PER_SECOND must be a number per second"),
        ({"MAX_TRACES_PER_SECOND": "-1"}, "MAX_TRACES_PER_SECOND must be between 0 and 1000000"),
        ({"MAX_TRACES_PER_SECOND": "nan"}, "MAX_TRACES_PER_SECOND"),
        ({"METRICS_PORT": "8000"}, "METRICS_PORT must differ from PORT"),
        ({"METRICS_PORT": "0"}, "METRICS_PORT"),
    ],
)
def test_bad_values_are_refused_by_name(env: dict[str, str], named: str) -> None:
    """Each invalid variable is reported with its name."""
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)


def test_origins_and_ssl_aliases_are_parsed() -> None:
    """ALLOWED_ORIGINS is a comma list; DB_SSL=true means sslmode require."""
    env = {"ALLOWED_ORIGINS": " https://a.example, https://b.example ,", "DB_HOST": "db"}
    settings = Settings.from_env(env | {"DB_SSL": "true"})
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.database.ssl == "require"


def test_trusted_trace_peers_and_the_body_timeout_are_parsed() -> None:
    """TRACE_TRUSTED_PEERS is a CIDR list (a bare address is a /32); 0 s: no body deadline."""
    env = {
        "TRACE_TRUSTED_PEERS": "10.0.0.0/8, 192.168.1.7,fd00::/8",
        "BODY_READ_TIMEOUT_SECONDS": "0",
    }
    settings = Settings.from_env(env)
    assert [str(net) for net in settings.trace_trusted_peers] == [
        "10.0.0.0/8",
        "192.168.1.7/32",
        "fd00::/8",
    ]
    assert settings.body_read_timeout_seconds is None
    assert Settings.from_env({}).trace_trusted_peers == ()


def test_metrics_port_is_optional() -> None:
    """Unset: /metrics stays on PORT; set: its own port."""
    assert Settings.from_env({}).metrics_port is None
    assert Settings.from_env({"METRICS_PORT": "9100"}).metrics_port == 9100


def test_traces_are_capped_at_10_a_second_unless_told_otherwise() -> None:
    """MAX_TRACES_PER_SECOND: 10 by default, fractions allowed, 0 for no ceiling."""
    assert Settings.from_env({}).max_traces_per_second == 10.0
    assert Settings.from_env({"MAX_TRACES_PER_SECOND": "0.5"}).max_traces_per_second == 0.5
    assert Settings.from_env({"MAX_TRACES_PER_SECOND": "0"}).max_traces_per_second is None
