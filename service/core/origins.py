"""Which web origins may embed the widget and receive form redirects."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from service.core.settings import IPNetwork


def origin_of(url: str) -> str | None:
    """The `scheme://host[:port]` a browser would go to for an http(s) URL, or None.

    None also for a URL a browser reads differently from Python's urlsplit, so an origin
    checked here is where a redirect really lands: a backslash (WHATWG URL reads it as "/"),
    userinfo (`https://allowed.example@evil.example/` disguises), whitespace or control
    characters (browsers strip or drop them), and a percent sign in the host (browsers
    decode it)."""
    if not _plainly_written(url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if "@" in parts.netloc or "%" in parts.netloc:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def _plainly_written(url: str) -> bool:
    # isprintable() is False for controls, format characters (U+200B...) and every space
    # but U+0020, which is refused on its own.
    return url.isprintable() and " " not in url and "\\" not in url


def origin_allowed(origin: str, allowed: Iterable[str]) -> bool:
    """Exact origins, `https://*.example.org` patterns (subdomains only), or `*`."""
    for pattern in allowed:
        if pattern in ("*", origin):
            return True
        scheme, sep, host = pattern.partition("://*.")
        if sep and origin.startswith(f"{scheme}://") and origin.endswith(f".{host}"):
            return True
    return False


def client_ip(peer: str | None, forwarded_for: str | None, trusted: Sequence[IPNetwork]) -> str:
    """The client's address: the socket peer, unless it is a trusted proxy, in which case the
    right-most X-Forwarded-For entry that is not itself a trusted proxy. A malformed entry
    stops the walk: whatever a client wrote to the left of it is not evidence."""
    if not trusted:  # the common case: the socket peer is the client
        return peer or "unknown"
    chain = [peer or ""]
    if forwarded_for:
        chain += [part.strip() for part in reversed(forwarded_for.split(","))]
    found = "unknown"
    for candidate in chain:
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            break
        found = candidate
        if not any(address in net for net in trusted):
            break
    return found
