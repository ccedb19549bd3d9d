"""What the middleware adds and enforces, fixed at start-up from the settings."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from service.security import Cors
from service.settings import Network


@dataclass(frozen=True)
class Policy:
    """What the middleware adds and enforces, fixed at start-up (from Settings)."""

    headers: list[tuple[bytes, bytes]]
    """Added to every response (security.security_headers)."""
    cors: Cors | None = None
    body_timeout: float | None = None
    """BODY_READ_TIMEOUT_SECONDS (request.BodyReader)."""
    trusted_peers: tuple[Network, ...] = ()
    """TRACE_TRUSTED_PEERS: whose incoming trace context (and sampling) is continued."""

    def trusts(self, client: tuple[str, int] | None) -> bool:
        """Whether the TCP peer is inside one of `trusted_peers`."""
        if not self.trusted_peers or client is None:
            return False
        try:
            peer = ipaddress.ip_address(client[0])
        except ValueError:  # a Unix socket, a test client's name
            return False
        if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped:
            peer = peer.ipv4_mapped  # ::ffff:10.1.2.3 from a dual-stack listener
        return any(peer in network for network in self.trusted_peers)
