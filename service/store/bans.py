"""Bans by IP range and website domain: the list admins keep, and each API process's copy.

The intake is hot, so it never reads the list per submission: each process keeps it in memory
and reads it again every REFRESH_S, beside the requests, which go on with the copy they have.
Only a process with no copy yet, or one where an admin just changed the list, waits for the
read. Another process sees a change up to REFRESH_S (and one read) late. A failed read keeps
the copy it had (the submission's own write reports the outage) and is tried again REFRESH_S
later: the check never turns a Redis hiccup into an error, and never holds requests up beyond
one read.

(Requests used to wait for every periodic read. Under load that read queues behind the
intake's batches and held every submission arriving meanwhile: with wrk's 64 connections,
about 1 % of submissions waited some 8 ms longer, where the p99 latency is measured.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import redis
import redis.asyncio as aioredis

from service.core import keys
from service.core.bans import BadEntry, BanList, Entry, Listed
from service.core.records import as_text

log = logging.getLogger(__name__)

REFRESH_S = 2.0
MAX_BANS = 1_000  # a list for people to keep by hand, and for every process to hold
AUDIT_MAX = 100_000


class TooManyBans(Exception):
    """The list is full (MAX_BANS)."""


def _listed(raw: Mapping[Any, Any]) -> list[Listed]:
    found = []
    for field, value in raw.items():
        try:
            entry = Entry.from_key(as_text(field))
            data = json.loads(as_text(value))
        except (BadEntry, ValueError):
            continue  # not ours to judge: skipped, not fatal to the intake
        until = data.get("until")
        found.append(Listed(entry, str(data.get("by", "")), float(data.get("at", 0)),
                            None if until is None else float(until)))  # fmt: skip
    return sorted(found, key=lambda item: -item.at)


async def listed(redis_: aioredis.Redis) -> list[Listed]:
    """The bans in force, newest first (for the workspace's page)."""
    return BanList(_listed(await redis_.hgetall(keys.network_bans())), time.time()).listed


def of(raw: Mapping[Any, Any], now: float) -> BanList:
    """The list from what HGETALL keys.network_bans() read (the worker reads it beside the
    commenter's ban, in one trip per decision)."""
    return BanList(_listed(raw), now)


class BanCache:
    """One API process's copy of the list."""

    def __init__(self, redis_: aioredis.Redis) -> None:
        self._redis = redis_
        self._bans = BanList()
        self._fresh_until = 0.0  # monotonic
        # Whether the next check must wait for a read: no copy yet, or this process changed
        # the list. Changes counts those changes, so a read that started before one does not
        # pass for the read after it.
        self._must_wait = True
        self._changes = 0
        self._reading: asyncio.Task[None] | None = None

    async def match(self, ip: str, website: str | None) -> Entry | None:
        """The ban a submission falls under: a look-up in memory."""
        if time.monotonic() >= self._fresh_until:
            self._read_now()
            # A read that began before this process changed the list does not count: wait on.
            while self._must_wait:
                # shield: a request cancelled meanwhile must not cancel the read others await.
                await asyncio.shield(self._read_now())
        return self._bans.match(ip, website, time.time())

    def _read_now(self) -> asyncio.Task[None]:
        """The read in progress, or a new one."""
        if self._reading is None:
            self._reading = asyncio.create_task(self._read())
        return self._reading

    def forget(self) -> None:
        """Read the list again before the next check (this process changed it)."""
        self._changes += 1
        self._must_wait = True
        self._fresh_until = 0.0

    async def close(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reading

    async def _read(self) -> None:
        changes = self._changes
        try:
            raw = await self._redis.hgetall(keys.network_bans())
            self._bans = BanList(_listed(raw), time.time())
        except Exception as exc:  # a Redis error, or a bad entry: no request is waiting to hear
            log.warning("ban list not refreshed, the previous copy stays: %r", exc)
        finally:
            self._reading = None
        if changes == self._changes:
            self._fresh_until = time.monotonic() + REFRESH_S
            self._must_wait = False


def add(conn: redis.Redis, entry: Entry, actor: str, duration_s: int | None) -> None:
    """Ban a range or domain (again: a new duration replaces the old); audited."""
    now = time.time()
    until = None if duration_s is None else now + duration_s
    key = keys.network_bans()
    expired = [item.entry.key for item in _listed(conn.hgetall(key))
               if item.until is not None and item.until <= now]  # fmt: skip
    if expired:
        conn.hdel(key, *expired)
    if conn.hlen(key) >= MAX_BANS and not conn.hexists(key, entry.key):
        raise TooManyBans
    value = json.dumps({"by": actor, "at": round(now, 3), "until": until})
    with conn.pipeline(transaction=True) as pipe:
        pipe.hset(key, entry.key, value)
        _audit(pipe, now, actor, "ban", entry, until)
        pipe.execute()


def remove(conn: redis.Redis, entry: Entry, actor: str) -> bool:
    """Lift a ban; False if there was none."""
    if not conn.hdel(keys.network_bans(), entry.key):
        return False
    _audit(conn, time.time(), actor, "unban", entry, None)
    return True


def _audit(
    conn: redis.Redis | redis.client.Pipeline,
    now: float,
    actor: str,
    action: str,
    entry: Entry,
    until: float | None,
) -> None:
    audited = {"ts": f"{now:.3f}", "actor": actor, "action": action,
               "target": f"{entry.kind} {entry.value}",
               "until": "" if until is None else f"{until:.0f}"}  # fmt: skip
    conn.xadd(keys.audit_log(), audited, maxlen=AUDIT_MAX, approximate=True)  # type: ignore[arg-type]
