"""One Redis pub/sub subscription per API process, fanned out to that process's open streams.

`Hub.run` reads keys.live_channel and hands each event to the streams of its article (by
article tag). Each event is framed once (SSE, and HTTP chunk around it), and a stream that is
caught up gets those same bytes written straight to its socket by the hub: no task wakes per
reader, nothing is encoded per reader, and no write is awaited (a socket's buffer takes it).
Only a stream that is replaying, or a reader whose socket buffer is backed up, has its events
queued on its `Listener` for its own task (routes/stream.py), which writes them with
backpressure and then hands the stream back to the hub. A listener that falls too far behind,
or a subscription that broke (Redis restarted: events may have been missed), is told to
refetch instead of being sent a gap. On shutdown every listener is closed, so open streams end
and never hold up the API's warm shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from service.core import keys
from service.store import live

log = logging.getLogger(__name__)
# Events queued for one slow reader before it is told to refetch instead.
BACKLOG = 64
# Bytes a reader's socket may hold unsent before its events wait on its own task instead
# (aiohttp's own high-water mark for a response).
WRITE_LIMIT = 0x10000
RETRY_S = 1.0
ORIGIN = (0, 0)  # the order of a stream that has seen no event yet


@dataclass(frozen=True, slots=True)
class Frame:
    """An event as the bytes on the wire, built once for every reader."""

    order: tuple[int, int]  # the event's stream id, comparable
    sse: bytes  # the Server-Sent Event
    chunk: bytes  # the same inside an HTTP/1.1 chunk

    @classmethod
    def of(cls, data: str, event: str, eid: str | None = None, retry: int | None = None) -> Frame:
        # aiohttp_sse's framing (CRLF lines); JSON data never holds a line break.
        head = f"id: {eid}\r\n" if eid is not None else ""
        tail = f"retry: {retry}\r\n" if retry is not None else ""
        sse = f"{head}event: {event}\r\ndata: {data}\r\n{tail}\r\n".encode()
        order = live.parse_id(eid) if eid is not None else None
        return cls(order or ORIGIN, sse, b"%x\r\n%b\r\n" % (len(sse), sse))

    @classmethod
    def of_event(cls, event: live.Event) -> Frame:
        return cls.of(event.data(), event.kind, event.eid)


class Listener:
    """One reader's stream: the events of its article, in order, until closed."""

    __slots__ = ("_wake", "chunked", "closed", "pending", "refetch", "seen", "transport")

    def __init__(self) -> None:
        self.pending: deque[Frame] = deque()  # for the stream's own task to write
        self.refetch = False  # events were lost: the reader must reload
        self.closed = False
        self.seen = ORIGIN  # the newest event written (or replayed) to this reader
        # Set while the stream is caught up: the hub writes to it directly.
        self.transport: asyncio.WriteTransport | None = None
        self.chunked = True
        self._wake = asyncio.Event()

    def put(self, frame: Frame) -> None:
        if frame.order <= self.seen:  # already replayed from the buffer
            return
        transport = self.transport
        if transport is not None:
            if transport.is_closing():  # the reader left: end its stream
                self.close()
                return
            if transport.get_write_buffer_size() < WRITE_LIMIT:
                transport.write(frame.chunk if self.chunked else frame.sse)
                self.seen = frame.order
                return
            self.transport = None  # backed up: its task takes over, with backpressure
        if len(self.pending) >= BACKLOG:
            self.pending.clear()
            self.refetch = True
        else:
            self.pending.append(frame)
        self._wake.set()

    def direct(self, transport: asyncio.WriteTransport | None, chunked: bool) -> None:
        """Let the hub write to this stream from now on (its task has nothing queued)."""
        if not self.closed and not self.refetch and not self.pending:
            self.transport, self.chunked = transport, chunked

    def lost(self) -> None:
        self.transport = None
        self.pending.clear()
        self.refetch = True
        self._wake.set()

    def close(self) -> None:
        self.transport = None
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
            listener.transport = None
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
        group = self.listeners.get(tag)
        if not group:
            return
        frame = Frame.of_event(event)
        for listener in list(group):  # a closing reader leaves the set meanwhile
            listener.put(frame)

    async def run(self) -> None:
        """Subscribe and dispatch until closed, subscribing again after a Redis failure.

        The loop checks `closing`, and whether the task was asked to stop, too: a
        cancellation can be swallowed inside the Redis client's own read timeout, and
        whoever cancelled it (the app's cleanup, or asyncio at exit) must not wait forever."""
        task = asyncio.current_task()
        while not self.closing and not (task and task.cancelling()):
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(keys.live_channel())
                self.ready.set()
                while not self.closing and not (task and task.cancelling()):
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
