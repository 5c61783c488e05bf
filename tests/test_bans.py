"""Bans by IP range and website domain: what an admin may type, what a ban matches, and the
API process's copy of the list."""

from __future__ import annotations

import asyncio

import pytest
import redis
import redis.asyncio as aioredis

from service.core.bans import DOMAIN, RANGE, BadEntry, BanList, Entry, Listed, parse_entry
from service.entry.embedded_redis import RedisServer, free_port
from service.store import bans as store_bans
from service.store.bans import BanCache


@pytest.mark.parametrize(
    ("typed", "kind", "value"),
    [
        ("203.0.113.0/24", RANGE, "203.0.113.0/24"),
        (" 203.0.113.7 ", RANGE, "203.0.113.7/32"),
        ("2001:DB8::/32", RANGE, "2001:db8::/32"),
        ("2001:db8::1", RANGE, "2001:db8::1/128"),
        ("Example.COM", DOMAIN, "example.com"),
        ("*.spam.example", DOMAIN, "spam.example"),
        ("https://www.spam.example/a/page?x=1", DOMAIN, "www.spam.example"),
        ("cafe.be", DOMAIN, "cafe.be"),  # hex letters and dots: still a name
        ("bücher.example", DOMAIN, "xn--bcher-kva.example"),
    ],
)
def test_what_admins_type_is_normalised(typed: str, kind: str, value: str) -> None:
    assert parse_entry(typed) == Entry(kind, value)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "1 to 300 characters"),
        ("x" * 301, "1 to 300 characters"),
        ("203.0.113.7/24", "did you mean 203.0.113.0/24?"),
        ("0.0.0.0/0", "too broad"),
        ("::/0", "too broad"),
        ("203.0.113.0/33", "not an IP range"),
        ("1.2.3", "not an IP range"),
        ("com", "not a website domain"),
        ("-spam.example", "not a website domain"),
        ("spam_site.example", "not a website domain"),
    ],
)
def test_what_cannot_be_banned_is_refused_with_the_reason(typed: str, says: str) -> None:
    with pytest.raises(BadEntry, match=says):
        parse_entry(typed)


def banned(*typed: str, until: float | None = None) -> BanList:
    return BanList([Listed(parse_entry(t), "alice", 1.0, until) for t in typed], now=10.0)


def test_ranges_match_their_addresses_in_either_family() -> None:
    bans = banned("203.0.113.0/24", "2001:db8::/32", "198.51.100.7")
    assert bans.match("203.0.113.250", None, 10) == Entry(RANGE, "203.0.113.0/24")
    assert bans.match("::ffff:203.0.113.9", None, 10) == Entry(RANGE, "203.0.113.0/24")
    assert bans.match("2001:db8:ffff::1", None, 10) == Entry(RANGE, "2001:db8::/32")
    assert bans.match("198.51.100.7", None, 10) == Entry(RANGE, "198.51.100.7/32")
    for other in ("203.0.114.1", "198.51.100.8", "2001:db9::1", "unknown", ""):
        assert bans.match(other, None, 10) is None


def test_domains_match_their_subdomains_only() -> None:
    bans = banned("spam.example", "bücher.example")
    for website in ("https://spam.example", "http://a.b.SPAM.example./x", "https://bücher.example"):
        assert bans.match("192.0.2.1", website, 10) is not None, website
    for other in ("https://notspam.example", "https://spam.example.org", "not a url", None):
        assert bans.match("192.0.2.1", other, 10) is None, other


def test_a_ban_for_a_duration_ends() -> None:
    assert not banned("spam.example", until=5.0)  # expired when the list was read
    bans = banned("spam.example", until=20.0)
    assert bans.match("192.0.2.1", "https://spam.example", 19.9) is not None
    assert bans.match("192.0.2.1", "https://spam.example", 20.0) is None


async def test_the_intakes_copy_survives_redis_errors(
    rconn: redis.Redis, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed refresh keeps the copy it had and is no error of the submission's: the
    submission's own write reports the outage (503), as tests/test_sentinel.py shows."""
    store_bans.add(rconn, parse_entry("203.0.113.0/24"), "alice", None)
    live = aioredis.Redis.from_url(redis_server.url, socket_timeout=1)
    dead = aioredis.Redis(port=free_port(), socket_connect_timeout=0.2, socket_timeout=0.2)
    try:
        cache = BanCache(live)
        assert await cache.match("203.0.113.9", None) == Entry(RANGE, "203.0.113.0/24")
        never_loaded = BanCache(dead)
        assert await never_loaded.match("203.0.113.9", None) is None
        assert "ban list not refreshed" in caplog.text
    finally:
        await live.aclose()
        await dead.aclose()


async def test_requests_do_not_wait_for_the_periodic_read(
    rconn: redis.Redis, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past REFRESH_S the list is read again beside the requests, which go on with the copy
    they have, even while Redis holds the read; a change made in this process is waited for."""
    monkeypatch.setattr(store_bans, "REFRESH_S", 0.0)  # every check finds the copy stale
    store_bans.add(rconn, parse_entry("203.0.113.0/24"), "alice", None)
    first = Entry(RANGE, "203.0.113.0/24")
    client = aioredis.Redis.from_url(redis_server.url, socket_timeout=30)
    cache = BanCache(client)
    try:
        assert await cache.match("203.0.113.9", None) == first  # no copy yet: waited for
        # Redis holds every command for 2 s (an UNPAUSE too). A hang guard, not a speed
        # claim: waiting for the read would outlast the 1.5 s.
        rconn.client_pause(2000, all=True)
        assert await asyncio.wait_for(cache.match("203.0.113.9", None), 1.5) == first
        store_bans.add(rconn, parse_entry("198.51.100.0/24"), "alice", None)
        cache.forget()  # as the workspace does after a change
        assert await cache.match("198.51.100.7", None) == Entry(RANGE, "198.51.100.0/24")
        store_bans.add(rconn, parse_entry("192.0.2.0/24"), "alice", None)
        for _ in range(500):  # seen by a later periodic read
            if await cache.match("192.0.2.1", None) is not None:
                break
            await asyncio.sleep(0.01)
        assert await cache.match("192.0.2.1", None) == Entry(RANGE, "192.0.2.0/24")
    finally:
        await cache.close()
        await client.aclose()
