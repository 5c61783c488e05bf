"""Commenters as moderators know them: an opaque id, their history, private notes, bans.

A commenter is their address's keyed hash (`email_hash`), which the workspace never shows: it
names them by a second keyed hash of it (`EmailVault.commenter_id`), remembered as it is shown
so its page can find them again. A ban is one key per commenter, checked by the intake script
before a comment is stored (service/store/intake.py); a ban for a duration is that key's expiry.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import redis
import redis.asyncio as aioredis

from service.core import keys
from service.core.records import as_text
from service.core.settings import Settings
from service.core.statuses import Status, parse
from service.store import moderation

AUDIT_MAX = moderation.AUDIT_MAX
NOTES_MAX = 200  # the newest notes kept per commenter
HISTORY_MAX = 200
# Rejected with a ban's "also reject": what readers can see, or may yet see.
REJECTABLE = frozenset({Status.PENDING, Status.HELD, Status.APPROVED})


@dataclass(frozen=True, slots=True)
class Ban:
    by: str
    at: float
    until: float | None  # None: for good


async def email_hash_of(redis_: aioredis.Redis, commenter_id: str) -> str | None:
    found = await redis_.hget(keys.commenter_ids(), commenter_id)
    return as_text(found) if found else None


async def ban_of(redis_: aioredis.Redis, email_hash: str) -> Ban | None:
    raw = await redis_.get(keys.ban(email_hash))
    if not raw:
        return None
    data = json.loads(raw)
    until = data.get("until")
    return Ban(str(data.get("by", "")), float(data.get("at", 0)), None if until is None else until)


async def comment_ids(redis_: aioredis.Redis, email_hash: str) -> list[str]:
    """Their comments' ids, newest first (ids begin with the article, so by creation time)."""
    ids = [as_text(v) for v in await redis_.smembers(keys.by_email(email_hash))]
    async with redis_.pipeline(transaction=False) as pipe:
        for cid in ids:
            pipe.hget(keys.comment(cid), "created_at")
        created = await pipe.execute()
    pairs = sorted(zip(ids, created, strict=True), key=lambda p: -float(p[1] or 0))
    return [cid for cid, _ in pairs[:HISTORY_MAX]]


async def notes(redis_: aioredis.Redis, email_hash: str) -> list[dict[str, str]]:
    """Moderators' private notes on a commenter, newest first."""
    entries = await redis_.xrevrange(keys.commenter_notes(email_hash), count=NOTES_MAX)
    return [
        {as_text(k): as_text(v) for k, v in (fields or {}).items()} for _, fields in entries or []
    ]


async def add_note(redis_: aioredis.Redis, email_hash: str, actor: str, text: str) -> None:
    entry = {"ts": f"{time.time():.3f}", "actor": actor, "text": text}
    await redis_.xadd(keys.commenter_notes(email_hash), entry, maxlen=NOTES_MAX)  # type: ignore[arg-type]


def ban(
    conn: redis.Redis,
    settings: Settings,
    email_hash: str,
    commenter_id: str,
    actor: str,
    duration_s: int | None,
    *,
    reject_existing: bool,
) -> int:
    """Ban a commenter for `duration_s` seconds or for good; with `reject_existing`, also
    reject their pending, held and published comments (each through moderation.apply, so
    each is audited). How many comments were rejected."""
    now = time.time()
    until = None if duration_s is None else now + duration_s
    value = json.dumps({"by": actor, "at": round(now, 3), "until": until})
    conn.set(keys.ban(email_hash), value, ex=duration_s)
    entry = {
        "ts": f"{now:.3f}",
        "actor": actor,
        "action": "ban",
        "commenter": commenter_id,
        "until": "" if until is None else f"{until:.0f}",
    }
    conn.xadd(keys.audit_log(), entry, maxlen=AUDIT_MAX, approximate=True)  # type: ignore[arg-type]
    if not reject_existing:
        return 0
    rejected = 0
    for raw in conn.smembers(keys.by_email(email_hash)):
        cid = as_text(raw)
        if parse(as_text(conn.hget(keys.comment(cid), "status") or "")) not in REJECTABLE:
            continue
        outcome = moderation.apply(conn, settings, cid, "reject", actor)
        rejected += outcome.result == moderation.DONE
    return rejected


def unban(conn: redis.Redis, email_hash: str, commenter_id: str, actor: str) -> bool:
    if not conn.delete(keys.ban(email_hash)):
        return False
    entry = {"ts": f"{time.time():.3f}", "actor": actor, "action": "unban",
             "commenter": commenter_id}  # fmt: skip
    conn.xadd(keys.audit_log(), entry, maxlen=AUDIT_MAX, approximate=True)  # type: ignore[arg-type]
    return True
