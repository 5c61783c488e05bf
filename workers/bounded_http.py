"""One HTTP POST with a deadline for the whole exchange and a cap on the answer's size.

For the services a decision waits for (Akismet, the external moderation hook): a socket
timeout bounds each read, not the exchange, so a server that sends one byte a second would
hold a decision for minutes. Here a watchdog shuts the socket down when the deadline passes,
whatever the exchange is doing. Failures raise Unavailable with a fixed description (never
the other side's words), like the delivery code.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit


class Unavailable(RuntimeError):
    """No usable answer in time: unreachable, refused, too slow, too large or garbled."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]  # names lowercased
    body: bytes


def post(
    url: str, body: bytes, headers: Mapping[str, str], *, deadline_s: float, max_bytes: int
) -> Answer:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Unavailable("not an http(s) URL")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=deadline_s, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=deadline_s)
    watchdog = threading.Timer(deadline_s, _cut, (conn,))
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.request("POST", target, body=body, headers=dict(headers))
        response = conn.getresponse()
        data = response.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise Unavailable(f"the answer exceeded {max_bytes} bytes")
        if watchdog.finished.is_set():  # cut short: what was read may be a fragment
            raise Unavailable(f"no complete answer within {deadline_s:g} s")
        names = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, names, data)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if watchdog.finished.is_set():
            raise Unavailable(f"no complete answer within {deadline_s:g} s") from None
        raise Unavailable(f"the exchange failed ({type(exc).__name__})") from None
    finally:
        watchdog.cancel()
        conn.close()


def _cut(conn: http.client.HTTPConnection) -> None:
    """The deadline passed: wake whatever read or write is blocked on the socket."""
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed: the exchange ended meanwhile
            sock.shutdown(socket.SHUT_RDWR)
