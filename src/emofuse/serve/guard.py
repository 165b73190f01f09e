"""Who may call the server, and how much they may send: ASGI middleware for the app.

* :class:`Guard` checks every HTTP request and WebSocket handshake: the ``Host`` header and
  any ``Origin`` must name an allowed host (stops other web sites and DNS rebinding), and
  with an API key, ``/v1/*`` (but ``/v1/health``) needs it as ``X-API-Key: KEY``,
  ``Authorization: Bearer KEY`` or ``?key=KEY`` (the web page passes its own ``?key=``).
* :class:`BodyLimit` refuses a request body over its route's limit while it streams in
  (``Content-Length`` up front, then counted chunk by chunk), so an oversized upload never
  lands on disk beyond the limit.

>>> allowed = default_hosts("127.0.0.1", 8000)
>>> host_allowed("localhost:8000", allowed), host_allowed("evil.example:8000", allowed)
(True, False)
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import socket
from collections.abc import Awaitable, Callable, Iterable
from contextlib import suppress
from typing import Any
from urllib.parse import parse_qs, urlsplit

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK = ("localhost", "127.0.0.1", "::1")
WILDCARD = ("0.0.0.0", "::", "")
OPEN_PATHS = ("/v1/health",)  # no key needed: a load balancer's probe


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) only listens on this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, api_key: str | None) -> str | None:
    """A warning when the server listens beyond this machine without an API key."""
    if api_key or is_loopback(host):
        return None
    return (
        f"serving on {host or '0.0.0.0'} without an API key: anyone who can reach this port "
        "can use the models; set --api-key or EMOFUSE_API_KEY"
    )


def default_hosts(host: str, port: int, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The server's own ``host:port``, its loopback names, and ``extra`` entries.

    On a wildcard address (``0.0.0.0``, ``::``) the machine's name and its addresses are
    added. An entry is ``name`` (any port), ``name:port``, or ``*`` (no check at all).
    """
    names = {*LOOPBACK}
    if host in WILDCARD:
        names |= {socket.gethostname(), socket.getfqdn()}
        with suppress(OSError):
            names |= {str(a[4][0]) for a in socket.getaddrinfo(socket.gethostname(), None)}
    else:
        names.add(host)
    own = [f"[{n}]:{port}" if ":" in n else f"{n}:{port}" for n in sorted(names) if n]
    return (*own, *extra)


def _split(hostport: str, default_port: int | None) -> tuple[str, int | None]:
    """``name[:port]`` or ``[v6][:port]`` -> (lower-case name, port or ``default_port``)."""
    try:
        parts = urlsplit(f"//{hostport.strip()}")
        return (parts.hostname or "").lower(), parts.port or default_port
    except ValueError:  # a bad port
        return "", None


def host_allowed(hostport: str, allowed: Iterable[str], default_port: int | None = None) -> bool:
    """Whether ``hostport`` (a Host header, or an Origin's host) matches an allowed entry."""
    name, port = _split(hostport, default_port)
    if not name:
        return False
    for entry in allowed:
        if entry == "*":
            return True
        want, want_port = _split(entry, None)
        if want == name and (want_port is None or want_port == port):
            return True
    return False


def origin_allowed(origin: str, allowed: Iterable[str]) -> bool:
    """Whether a browser's ``Origin`` (``scheme://host[:port]``) names an allowed host."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False  # "null" (sandboxed frames, file://) and other schemes
    default = 443 if parts.scheme == "https" else 80
    return host_allowed(parts.netloc, allowed, default)


def key_matches(given: str | None, key: str) -> bool:
    """Constant-time comparison of an API key."""
    return given is not None and hmac.compare_digest(given.encode(), key.encode())


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _given_key(scope: Scope, headers: dict[str, str]) -> str | None:
    if "x-api-key" in headers:
        return headers["x-api-key"]
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return query.get("key", [None])[-1]


async def refuse(scope: Scope, send: Send, status: int, message: str) -> None:
    """Answer ``{"error": message}`` with ``status`` (a WebSocket handshake gets HTTP 403)."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Guard:
    """Host/Origin allow-list and optional API key in front of an ASGI app."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str], api_key: str | None = None):
        self.app, self.allowed, self.api_key = app, tuple(allowed_hosts), api_key or None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        why = self.check(scope)
        if why is not None:
            status, message = why
            return await refuse(scope, send, status, message)
        return await self.app(scope, receive, send)

    def check(self, scope: Scope) -> tuple[int, str] | None:
        """(HTTP status, message) when the request is refused, else None."""
        headers = _headers(scope)
        if not host_allowed(headers.get("host", ""), self.allowed):
            return 400, f"host {headers.get('host', '')!r} is not allowed (see --allow-host)"
        origin = headers.get("origin")
        if origin is not None and not origin_allowed(origin, self.allowed):
            return 403, f"origin {origin!r} is not allowed (see --allow-host)"
        path = scope.get("path", "")
        needs_key = self.api_key and path.startswith("/v1/") and path not in OPEN_PATHS
        if needs_key and not key_matches(_given_key(scope, headers), self.api_key):
            return 401, "missing or wrong API key"
        return None


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuse an HTTP request body over ``limit(path)`` bytes with 413, while it streams in."""

    def __init__(self, app: ASGIApp, limit: Callable[[str], int]):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit(scope.get("path", ""))
        message = f"the request body is over the limit of {limit / 2**20:.1f} MB"
        length = _headers(scope).get("content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > limit):
            return await refuse(scope, send, 413, message)
        seen, over, answered = 0, False, False

        async def counted() -> dict[str, Any]:
            nonlocal seen, over
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    over = True
                    raise _TooLarge
            return msg

        async def replaced(msg: dict[str, Any]) -> None:
            nonlocal answered
            if not over:
                return await send(msg)
            if not answered and msg["type"] == "http.response.start":  # the app's 400: ours
                answered = True
                await refuse(scope, send, 413, message)

        try:
            await self.app(scope, counted, replaced)
        except _TooLarge:
            if not answered:
                answered = True
                await refuse(scope, send, 413, message)
