"""The workspace's overview: how the desk stands now and what it did today (UTC)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from service.core import keys
from service.core.records import as_text

AUDIT_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Overview:
    held: int
    spam_folder: int
    oldest_held_s: float | None  # how long the oldest held comment has waited
    decisions_today: int
    spam_caught: int  # the workers' spam verdicts, since the counters began
    by_moderator: dict[str, int] = field(default_factory=dict)  # today's actions


async def read(redis: aioredis.Redis, now: float) -> Overview:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zcard(keys.held())
        pipe.zcard(keys.spam_folder())
        pipe.zrange(keys.held(), 0, 0, withscores=True)
        pipe.hget(keys.stats(), "verdict_spam")
        held, spam, oldest, caught = await pipe.execute()
    midnight_ms = int(now // 86400 * 86400 * 1000)
    actors: Counter[str] = Counter()
    start = f"{midnight_ms}-0"
    while True:
        entries = await redis.xrange(keys.audit_log(), min=start, max="+", count=AUDIT_BATCH) or []
        for _, fields in entries:
            actors[as_text((fields or {}).get("actor", "?"))] += 1
        if len(entries) < AUDIT_BATCH:
            break
        start = f"({as_text(entries[-1][0])}"
    return Overview(
        held=int(held),
        spam_folder=int(spam),
        oldest_held_s=max(now - float(oldest[0][1]), 0.0) if oldest else None,
        decisions_today=sum(actors.values()),
        spam_caught=int(caught or 0),
        by_moderator=dict(actors.most_common()),
    )
