"""One Redis pub/sub subscription per API process, fanned out to that process's open streams.

`Hub.run` reads keys.live_channel and hands each event to the streams of its article (by
article tag); a reader's stream (routes/stream.py) waits on its own `Listener`. A listener that
falls too far behind, or a subscription that broke (Redis restarted: events may have been
missed), is told to refetch instead of being sent a gap. On shutdown every listener is closed,
so open streams end and never hold up the API's warm shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterator

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from service.core import keys
from service.store import live

log = logging.getLogger(__name__)
# Events queued for one slow reader before it is told to refetch instead.
BACKLOG = 64
RETRY_S = 1.0


class Listener:
    """One reader's stream: the events of its article, in order, until closed."""

    __slots__ = ("_wake", "closed", "events", "refetch")

    def __init__(self) -> None:
        self.events: deque[live.Event] = deque()
        self.refetch = False  # events were lost: the reader must reload
        self.closed = False
        self._wake = asyncio.Event()

    def put(self, event: live.Event) -> None:
        if len(self.events) >= BACKLOG:
            self.events.clear()
            self.refetch = True
        else:
            self.events.append(event)
        self._wake.set()

    def lost(self) -> None:
        self.events.clear()
        self.refetch = True
        self._wake.set()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    async def wait(self) -> None:
        await self._wake.wait()
        self._wake.clear()


class Hub:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self.listeners: dict[str, set[Listener]] = {}
        self.closing = False
        self.ready = asyncio.Event()  # subscribed (tests and the benchmark wait for it)

    @contextlib.contextmanager
    def listen(self, article: str) -> Iterator[Listener]:
        tag = keys.article_tag(article)
        listener = Listener()
        if self.closing:
            listener.close()
        self.listeners.setdefault(tag, set()).add(listener)
        try:
            yield listener
        finally:
            group = self.listeners.get(tag)
            if group is not None:
                group.discard(listener)
                if not group:
                    del self.listeners[tag]

    def streams(self) -> int:
        return sum(len(group) for group in self.listeners.values())

    def close(self) -> None:
        self.closing = True
        for group in self.listeners.values():
            for listener in group:
                listener.close()

    def _dispatch(self, raw: str | bytes) -> None:
        parsed = live.parse_message(raw)
        if parsed is None:
            return
        tag, event = parsed
        for listener in self.listeners.get(tag, ()):
            listener.put(event)

    async def run(self) -> None:
        """Subscribe and dispatch until closed, subscribing again after a Redis failure.

        The loop checks `closing` too: a cancellation can be swallowed inside the Redis
        client's own read timeout, and the app's cleanup must not wait on it forever."""
        while not self.closing:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(keys.live_channel())
                self.ready.set()
                while not self.closing:
                    # A bounded wait, whatever the client's socket timeout: a quiet channel is
                    # no error, and a closing hub notices within it.
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self._dispatch(message["data"])
            except (RedisError, OSError) as exc:
                self.ready.clear()
                log.warning("live events: subscription lost (%s); subscribing again", exc)
                for group in self.listeners.values():
                    for listener in group:
                        listener.lost()
                await asyncio.sleep(RETRY_S)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
