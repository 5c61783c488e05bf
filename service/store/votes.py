"""Readers' votes: one per reader and comment, counted on the comment, ranked for `sort=top`."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from service.core import keys
from service.core.records import as_text
from service.core.statuses import Status
from service.store import live

# service/core/votes.py's `wilson`, for the scripts that keep keys.thread_top; `score_of` reads
# a comment record's counts.
WILSON_LUA = """
local function wilson(up, down)
  local n = up + down
  if n <= 0 then return 0 end
  local z = 1.959964
  local p, z2 = up / n, z * z
  local spread = z * math.sqrt((p * (1 - p) + z2 / (4 * n)) / n)
  return (p + z2 / (2 * n) - spread) / (1 + z2 / n)
end
local function score_of(record)
  local counts = redis.call('HMGET', record, 'up', 'down')
  return wilson(tonumber(counts[1]) or 0, tonumber(counts[2]) or 0)
end
"""

# KEYS: the comment, its votes, roots, top, indexed, version. ARGV: voter, value, id.
# Returns nil for a comment that is not public, else {changed, up, down}.
CAST = (
    WILSON_LUA
    + """
local comment, votes, roots, top, indexed, version = unpack(KEYS)
local voter, value, id = ARGV[1], ARGV[2], ARGV[3]
if redis.call('HGET', comment, 'status') ~= ARGV[4] then return nil end
local before = redis.call('HGET', votes, voter)
local changed = 0
if before ~= value then
  changed = 1
  redis.call('HSET', votes, voter, value)
  if before then redis.call('HINCRBY', comment, before, -1) end
  redis.call('HINCRBY', comment, value, 1)
  if redis.call('EXISTS', indexed) == 1 and redis.call('ZSCORE', roots, id) then
    redis.call('ZADD', top, score_of(comment), id)
  end
  redis.call('INCR', version)
end
local counts = redis.call('HMGET', comment, 'up', 'down')
return {changed, tonumber(counts[1]) or 0, tonumber(counts[2]) or 0}
"""
)


@dataclass(frozen=True, slots=True)
class Tally:
    changed: bool  # False: this reader had already voted so
    up: int
    down: int


async def cast(redis: aioredis.Redis, comment_id: str, voter: str, value: str) -> Tally | None:
    """Record one reader's vote; None if the comment is not public."""
    article = await redis.hget(keys.comment(comment_id), "article")
    if article is None:
        return None
    article = as_text(article)
    names = (
        keys.comment(comment_id),
        keys.votes(comment_id),
        keys.thread_roots(article),
        keys.thread_top(article),
        keys.thread_indexed(article),
        keys.thread_version(article),
    )
    result = await redis.eval(
        CAST, len(names), *names, voter, value, comment_id, Status.APPROVED.value
    )
    if result is None:
        return None
    changed, up, down = (int(v) for v in result)
    if changed:
        await live.publish_vote(redis, article, comment_id, up, down)
    return Tally(bool(changed), up, down)
