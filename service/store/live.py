"""Live events of an article's public thread: published, edited and removed comments, votes,
and the thread's comment count after each.

Every writer that changes a public thread queues `publish` on its own MULTI pipeline (through
service/store/transitions.py), so the worker, a moderator and an author all emit, and the event
exists if and only if the change does. One script appends the event to the article's capped
stream (keys.live_events: the replay buffer a reconnecting reader resumes from, by the stream
entry id) and publishes it, with that id, on keys.live_channel, which each API process
subscribes to once. Events carry ids, kinds and counts: never a record's fields, so nothing
private can travel in one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.client import Pipeline

from service.core import keys
from service.core.records import as_text

PUBLISHED, EDITED, REMOVED, VOTED, CHANGED = "published", "edited", "removed", "voted", "changed"
# The replay buffer: this many recent events per article, for a day after the last one. A
# reader away longer than that (or past more events) refetches the first page instead.
REPLAY_EVENTS = 200
REPLAY_S = 86400
# A stream id (before anything was written) that a reader who connected to a quiet article
# resumes from.
START = "0-0"

# KEYS: the article's event stream, its thread. ARGV: channel, kind, comment id, parent id,
# up, down, cap, ttl seconds, article tag. Returns the event's id.
PUBLISH = """
local stream, thread = KEYS[1], KEYS[2]
local channel, kind, id, parent, up, down, cap, ttl, tag = unpack(ARGV)
local count = redis.call('ZCARD', thread)
local eid = redis.call('XADD', stream, 'MAXLEN', cap, '*', 'kind', kind, 'id', id,
  'parent', parent, 'up', up, 'down', down, 'count', count)
redis.call('EXPIRE', stream, ttl)
redis.call('PUBLISH', channel, cjson.encode({tag = tag, eid = eid, kind = kind, id = id,
  parent = parent, up = up, down = down, count = count}))
return eid
"""


@dataclass(frozen=True, slots=True)
class Event:
    eid: str  # the stream entry id: what Last-Event-ID carries back
    kind: str
    comment_id: str
    parent_id: str
    count: int
    up: int
    down: int

    def data(self) -> str:
        """The JSON a reader's stream sends (the event's type and id travel beside it)."""
        body: dict[str, Any] = {"id": self.comment_id, "count": self.count}
        if self.parent_id:
            body["parent_id"] = self.parent_id
        if self.kind == VOTED:
            body["up"], body["down"] = self.up, self.down
        return json.dumps(body, separators=(",", ":"))


def _args(
    article: str, kind: str, comment_id: str, parent: str, up: int, down: int
) -> tuple[Any, ...]:
    names = (keys.live_events(article), keys.thread(article))
    return (
        PUBLISH,
        len(names),
        *names,
        keys.live_channel(),
        kind,
        comment_id,
        parent,
        up,
        down,
        REPLAY_EVENTS,
        REPLAY_S,
        keys.article_tag(article),
    )


def publish(
    pipe: Pipeline,
    article: str,
    kind: str,
    comment_id: str = "",
    parent: str = "",
) -> None:
    """Queue, on the writer's pipeline, the event of a change to the article's public thread."""
    pipe.eval(*_args(article, kind, comment_id, parent, 0, 0))


async def publish_vote(
    redis: aioredis.Redis, article: str, comment_id: str, up: int, down: int
) -> None:
    await redis.eval(*_args(article, VOTED, comment_id, "", up, down))


def parse_message(raw: str | bytes) -> tuple[str, Event] | None:
    """(article tag, event) from a pub/sub message; None for anything else."""
    try:
        body = json.loads(raw)
        return str(body["tag"]), Event(
            str(body["eid"]),
            str(body["kind"]),
            str(body["id"]),
            str(body["parent"]),
            int(body["count"]),
            int(body["up"]),
            int(body["down"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


def _entry(eid: str | bytes, fields: dict[Any, Any]) -> Event:
    f = {as_text(k): as_text(v) for k, v in fields.items()}
    return Event(
        as_text(eid),
        f.get("kind", CHANGED),
        f.get("id", ""),
        f.get("parent", ""),
        int(f.get("count") or 0),
        int(f.get("up") or 0),
        int(f.get("down") or 0),
    )


async def latest(redis: aioredis.Redis, article: str) -> str:
    """The id of the article's newest event (START if none is kept): where a new reader stands."""
    return newest(await redis.xrevrange(keys.live_events(article), count=1))


def queue_latest(pipe: aioredis.client.Pipeline, article: str) -> None:
    """Queue what `newest` reads, on a caller's pipeline: a thread is rendered with the id of
    the newest event read before its comments, so a reader who opens the stream from there
    hears every change the rendered thread may lack (and some it has, which are harmless)."""
    pipe.xrevrange(keys.live_events(article), count=1)


def newest(entries: Any) -> str:
    return as_text(entries[0][0]) if entries else START


def parse_id(value: str) -> tuple[int, int] | None:
    ms, dash, seq = value.partition("-")
    if not dash or not ms.isdigit() or not seq.isdigit() or len(value) > 40:
        return None
    return int(ms), int(seq)


async def since(redis: aioredis.Redis, article: str, last: str) -> list[Event] | None:
    """The events after `last`, or None when the buffer cannot prove it holds all of them
    (trimmed past it, expired, or an id it never issued): the reader must refetch."""
    stream = keys.live_events(article)
    entries: Any = await redis.xrange(stream, min="-", max="+", count=REPLAY_EVENTS + 1)
    events = [_entry(eid, fields) for eid, fields in entries or ()]
    if last == START:
        # Nothing was kept when the reader connected: whole unless trimmed since.
        return events if len(events) < REPLAY_EVENTS else None
    if not any(e.eid == last for e in events):
        return None
    ids = [e.eid for e in events]
    return events[ids.index(last) + 1 :]
