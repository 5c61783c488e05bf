"""Fixed-window rate limits in Redis, answered with 429 in the standard error shape."""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from service.core import keys
from service.web.errors import ApiError


async def limit(redis: aioredis.Redis, kind: str, value: str, allowed: int, window_s: int) -> None:
    """Count one hit for (kind, value); raise 429 with Retry-After beyond `allowed` a window."""
    now = time.time()
    window = int(now // window_s)
    key = keys.rate(kind, value, window)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, window_s)
        count, _ = await pipe.execute()
    if int(count) > allowed:
        retry_after = int((window + 1) * window_s - now) + 1
        raise ApiError(
            429,
            "rate_limited",
            "Too many requests; try again later.",
            headers={"Retry-After": str(retry_after)},
        )
