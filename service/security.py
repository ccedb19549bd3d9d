"""Response headers helmet sets by default, and the CORS and compression policies."""

from __future__ import annotations

from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig

# helmet 8's defaults. No X-Powered-By: nothing here sets one.
CONTENT_SECURITY_POLICY = (
    "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';"
    "frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';"
    "script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests"
)
# The API docs page loads its renderer from a CDN and runs it in a blob worker.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self';base-uri 'self';font-src 'self' https: data:;frame-ancestors 'self';"
    "img-src 'self' data: https:;object-src 'none';script-src 'self' https://cdn.jsdelivr.net;"
    "style-src 'self' https: 'unsafe-inline';worker-src 'self' blob:"
)
HELMET_HEADERS = {
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "origin-agent-cluster": "?1",
    "referrer-policy": "no-referrer",
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-dns-prefetch-control": "off",
    "x-download-options": "noopen",
    "x-frame-options": "SAMEORIGIN",
    "x-permitted-cross-domain-policies": "none",
    "x-xss-protection": "0",
}
COMPRESSION_MIN_BYTES = 1024


def security_headers(*, docs: bool = False) -> list[tuple[bytes, bytes]]:
    """Raw ASGI header pairs, encoded once at start-up."""
    policy = DOCS_CONTENT_SECURITY_POLICY if docs else CONTENT_SECURITY_POLICY
    pairs = {**HELMET_HEADERS, "content-security-policy": policy}
    return [(name.encode(), value.encode()) for name, value in pairs.items()]


def cors(allowed_origins: tuple[str, ...]) -> CORSConfig | None:
    """CORS for exactly these origins; None (no CORS headers at all) when there are none."""
    if not allowed_origins:
        return None
    return CORSConfig(
        allow_origins=list(allowed_origins),
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Content-Type", "Idempotency-Key", "X-Request-ID", "traceparent"],
        expose_headers=["Location", "X-Request-ID", "Idempotent-Replayed"],
        max_age=600,
    )


def compression() -> CompressionConfig:
    """gzip for bodies of 1 KiB or more, at level 6 (level 9 costs time for ~1% size)."""
    return CompressionConfig(
        backend="gzip", minimum_size=COMPRESSION_MIN_BYTES, gzip_compress_level=6
    )
