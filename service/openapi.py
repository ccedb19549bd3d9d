"""The OpenAPI document and its page, generated from the routes."""

from __future__ import annotations

from litestar.openapi import OpenAPIConfig

from service import __version__


def openapi_config() -> OpenAPIConfig:
    """The document served at /schema (its JSON at /schema/openapi.json)."""
    return OpenAPIConfig(title="Hello-World API", version=__version__, path="/schema")
