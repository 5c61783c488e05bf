"""What COMMENTS_REDIS_URL names: one Redis server, or a primary found through Sentinels.

`redis://`, `rediss://` and `unix://` URLs go to redis-py as they are. A Sentinel URL,
`redis+sentinel://[[user]:password@]host:port[,host:port...]/<service>[/db]`, lists the
Sentinels to ask for the current primary of `<service>`; the password (and user) are the Redis
servers' (the primary's and its replicas'), not the Sentinels'. Pure parsing, so
`Settings.check` refuses a bad URL before any process starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

SENTINEL_SCHEME = "redis+sentinel"
PLAIN_SCHEMES = ("redis", "rediss", "unix")
SENTINEL_DEFAULT_PORT = 26379


class RedisUrlError(ValueError):
    """A COMMENTS_REDIS_URL that no client could connect with."""


@dataclass(frozen=True, slots=True)
class SentinelTarget:
    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None


def is_sentinel(url: str) -> bool:
    return url.lower().startswith(SENTINEL_SCHEME + "://")


def parse_sentinel(url: str) -> SentinelTarget:
    """The Sentinels, service name and database of a redis+sentinel:// URL."""
    parts = urlsplit(url)
    if parts.scheme.lower() != SENTINEL_SCHEME:
        raise RedisUrlError(f"not a {SENTINEL_SCHEME}:// URL")
    credentials, _, hosts = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":")
    sentinels = tuple(_host_port(item) for item in hosts.split(","))
    path = [unquote(p) for p in parts.path.split("/")[1:]]
    if not path or not path[0]:
        raise RedisUrlError("name the Sentinel service: redis+sentinel://host:port/<service>")
    if len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise RedisUrlError("after the service name only a database number may follow: /<db>")
    if parts.query or parts.fragment:
        raise RedisUrlError("a Sentinel URL takes no query string or fragment")
    return SentinelTarget(
        sentinels=sentinels,
        service=path[0],
        db=int(path[1]) if len(path) == 2 else 0,
        username=unquote(username) or None,
        password=unquote(password) or None,
    )


def check(url: str) -> None:
    """Raise RedisUrlError, saying why, unless `url` is one this service can connect with."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == SENTINEL_SCHEME:
        parse_sentinel(url)
    elif scheme not in PLAIN_SCHEMES:
        schemes = ", ".join(f"{s}://" for s in (*PLAIN_SCHEMES, SENTINEL_SCHEME))
        raise RedisUrlError(f"use one of {schemes}")


def _host_port(item: str) -> tuple[str, int]:
    host, port = item.strip(), SENTINEL_DEFAULT_PORT
    if host.startswith("["):  # [::1]:26379
        end = host.find("]")
        if end < 0:
            raise RedisUrlError(f"unclosed IPv6 address in {item!r}")
        host, rest = host[1:end], host[end + 1 :]
        if rest:
            port = _port(rest.removeprefix(":"), item)
    elif ":" in host:
        host, _, text = host.rpartition(":")
        port = _port(text, item)
    if not host:
        raise RedisUrlError(f"a Sentinel needs a host: {item!r}")
    return host, port


def _port(text: str, item: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise RedisUrlError(f"bad Sentinel port in {item!r}")
    return int(text)
