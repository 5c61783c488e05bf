"""The workspace's sign-in requests and sessions in Redis.

A sign-in request lives 15 minutes under a random id that the emailed link names; using the
link deletes it (GETDEL), so a link works once. A session is a random value in the moderator's
cookie; Redis keeps only its SHA-256, with the moderator's label and role, expiring when idle
and never outliving its absolute maximum.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time

import redis
import redis.asyncio as aioredis

from service.core import keys
from service.core.moderators import ROLES, Identity, as_configured_now
from service.core.records import as_text
from service.core.settings import Settings
from service.queueing import jobs


def open_signin(
    conn: redis.Redis, settings: Settings, who: Identity, ttl_s: int, mail_to: str | None
) -> str:
    """A sign-in request; with `mail_to` (the keyed hash of the moderator's address, never the
    address) also the job that mails its link, written together. Returns the request id."""
    request_id = secrets.token_urlsafe(16)
    value = json.dumps({"actor": who.actor, "role": who.role, "to": mail_to or ""})
    with conn.pipeline(transaction=True) as pipe:
        pipe.set(keys.signin_request(request_id), value, ex=ttl_s)
        if mail_to:
            jobs.enqueue(conn, settings, jobs.SEND_SIGNIN_LINK, [request_id], pipeline=pipe)
        pipe.execute()
    return request_id


def signin_recipient(conn: redis.Redis, request_id: str) -> str | None:
    """The keyed hash of the address a pending sign-in is to be mailed to (the worker's view)."""
    raw = conn.get(keys.signin_request(request_id))
    if raw is None:
        return None
    return str(json.loads(as_text(raw)).get("to") or "") or None


async def claim_signin(redis: aioredis.Redis, request_id: str) -> Identity | None:
    """Spend a sign-in request: who it was for, or None if it expired or was used."""
    raw = await redis.getdel(keys.signin_request(request_id))
    if raw is None:
        return None
    data = json.loads(as_text(raw))
    return Identity(str(data["actor"]), str(data["role"]))


async def create(redis: aioredis.Redis, settings: Settings, who: Identity) -> str:
    """A new session for `who`; returns the cookie's value."""
    token = secrets.token_urlsafe(32)
    digest = _digest(token)
    key = keys.session(digest)
    await _forget_expired(redis)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping={"actor": who.actor, "role": who.role, "created": f"{time.time()}"})
        pipe.expire(key, min(settings.session_idle_s, settings.session_max_age_s))
        pipe.sadd(keys.sessions(), digest)
        await pipe.execute()
    return token


async def current(redis: aioredis.Redis, settings: Settings, token: str) -> Identity | None:
    """The session's moderator, its idle expiry renewed; None if it ended or never was."""
    key = keys.session(_digest(token))
    data = {as_text(k): as_text(v) for k, v in (await redis.hgetall(key)).items()}
    if not data or data.get("role") not in ROLES:
        return None
    left = float(data["created"]) + settings.session_max_age_s - time.time()
    if left <= 0:
        await end(redis, token)
        return None
    who = as_configured_now(settings, Identity(data["actor"], data["role"]))
    if who is None:
        await end(redis, token)
        return None
    await redis.expire(key, max(1, int(min(settings.session_idle_s, left))))
    return who


async def end(redis: aioredis.Redis, token: str) -> None:
    digest = _digest(token)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(keys.session(digest))
        pipe.srem(keys.sessions(), digest)
        await pipe.execute()


async def end_all(redis: aioredis.Redis) -> int:
    """End every session (an admin's "sign everyone out"); how many were open."""
    digests = [as_text(d) for d in await redis.smembers(keys.sessions())]
    if not digests:
        return 0
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(*(keys.session(d) for d in digests))
        pipe.srem(keys.sessions(), *digests)
        deleted, _ = await pipe.execute()
    return int(deleted)


async def _forget_expired(redis: aioredis.Redis, sample: int = 20) -> None:
    """Drop a few sessions Redis expired from the index (each sign-in sweeps a little, so the
    index stays about as large as the sessions alive)."""
    digests = [as_text(d) for d in await redis.srandmember(keys.sessions(), sample) or []]
    if not digests:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for digest in digests:
            pipe.exists(keys.session(digest))
        alive = await pipe.execute()
    gone = [d for d, exists in zip(digests, alive, strict=True) if not exists]
    if gone:
        await redis.srem(keys.sessions(), *gone)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
