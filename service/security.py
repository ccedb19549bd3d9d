"""Response headers helmet sets by default, and the CORS policy."""

from __future__ import annotations

from dataclasses import dataclass

# helmet 8's defaults. No X-Powered-By: nothing here sets one.
CONTENT_SECURITY_POLICY = (
    "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';"
    "frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';"
    "script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests"
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


def security_headers() -> list[tuple[bytes, bytes]]:
    """Raw ASGI header pairs, encoded once at start-up; the same on every response (the
    OpenAPI document is JSON only, with no page loading scripts from elsewhere)."""
    pairs = {**HELMET_HEADERS, "content-security-policy": CONTENT_SECURITY_POLICY}
    return [(name.encode(), value.encode()) for name, value in pairs.items()]


VARY = (b"vary", b"origin")


@dataclass(frozen=True)
class Cors:
    """CORS for exactly the configured origins, with every header encoded at start-up.

    Litestar's CORS middleware rebuilds header objects on every response (~40 us a
    request, benchmarks/); this answers the same questions from precomputed bytes.
    Every response varies by Origin then, a foreign origin's included (VARY): a cache
    must not hand one origin's answer to another.
    """

    origins: frozenset[bytes]
    methods: bytes = b"GET, POST, OPTIONS"
    allow_headers: bytes = b"content-type, idempotency-key, x-request-id, traceparent"
    expose_headers: bytes = b"location, x-request-id, idempotent-replayed"
    max_age: bytes = b"600"

    @classmethod
    def for_origins(cls, allowed_origins: tuple[str, ...]) -> Cors | None:
        """The policy, or None (no CORS headers at all) when no origin is allowed."""
        return cls(frozenset(o.encode() for o in allowed_origins)) if allowed_origins else None

    def response_headers(self, origin: bytes | None) -> list[tuple[bytes, bytes]]:
        """Headers for an actual request from `origin` (none for a foreign origin)."""
        return self._for(origin, (b"access-control-expose-headers", self.expose_headers))

    def preflight_headers(self, origin: bytes | None) -> list[tuple[bytes, bytes]]:
        """Headers of the 204 answering a preflight from an allowed `origin`."""
        return self._for(
            origin,
            (b"access-control-allow-methods", self.methods),
            (b"access-control-allow-headers", self.allow_headers),
            (b"access-control-max-age", self.max_age),
        )

    def _for(self, origin: bytes | None, *pairs: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
        if origin is None or origin not in self.origins:
            return []
        return [(b"access-control-allow-origin", origin), *pairs]
