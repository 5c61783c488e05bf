"""GET /api/v1/stream?article=…: an article's live events as Server-Sent Events.

Events: `ready` first (its id is where this reader stands), then `published`, `edited`,
`removed`, `voted` and `changed`, each with the stream id a reconnect sends back as
Last-Event-ID; `refetch` when events were missed that cannot be replayed. Comment text never
travels here: the widget fetches what it shows through GET /api/v1/comments.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web
from aiohttp_sse import EventSourceResponse
from redis.exceptions import RedisError

from service.store import live
from service.web.appkeys import LIVE, REDIS, SETTINGS
from service.web.cors import cors_headers
from service.web.errors import DEADLINE, storage_unavailable
from service.web.headers import secure
from service.web.live import Frame, Listener
from service.web.routes.comments import article_param

routes = web.RouteTableDef()
# How long a browser waits before reconnecting a dropped stream (EventSource's `retry`).
RETRY_MS = 3000
# A write this stream's own task waits on longer than this means a stalled reader (as
# aiohttp_sse's send).
SEND_TIMEOUT_S = EventSourceResponse.DEFAULT_SEND_TIMEOUT


@routes.get("/api/v1/stream")
async def stream(request: web.Request) -> web.StreamResponse:
    article = article_param(request)
    hub, redis = request.app[LIVE], request.app[REDIS]
    last = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    with hub.listen(article) as listener:  # listening before reading: no gap between them
        try:
            if last is not None and live.parse_id(last) is not None:
                missed = await live.since(redis, article, last)
                here = last if missed is not None else await live.latest(redis, article)
            else:
                missed, here = [], await live.latest(redis, article)
        except RedisError as exc:
            raise storage_unavailable() from exc
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Vary": "Origin"}
        if origin := request.headers.get("Origin"):  # sent before the CORS middleware runs
            headers |= cors_headers(origin)
        ping = request.app[SETTINGS].live_ping_s
        response = EventSourceResponse(headers=headers, ping_interval=ping)
        secure(response.headers)  # sent here, before the request stack sees the response
        writer = await response.prepare(request)
        # Whether the hub's pre-framed chunks fit this connection (HTTP/1.1) or the bare
        # events do (HTTP/1.0, which ends the body by closing).
        chunked = bool(getattr(writer, "chunked", True))
        # Set up within the request time limit like any request; the stream itself lasts as
        # long as the reader stays.
        request[DEADLINE].reschedule(None)
        try:
            await _serve(response, listener, missed, here, ping, request.transport, chunked)
        except (ConnectionResetError, TimeoutError):
            pass
        finally:
            response.stop_streaming()
    return response


async def _serve(
    response: EventSourceResponse,
    listener: Listener,
    missed: list[live.Event] | None,
    here: str,
    ping: float,
    transport: asyncio.WriteTransport | None,
    chunked: bool,
) -> None:
    listener.seen = live.parse_id(here) or listener.seen
    if missed is None:  # the reader reloads; a later reconnect resumes from here
        await _send(response, transport, Frame.of("{}", "refetch", here, RETRY_MS))
    else:
        await _send(response, transport, Frame.of("{}", "ready", here, RETRY_MS))
        for event in missed:
            await _send(response, transport, Frame.of_event(event))
            listener.seen = max(listener.seen, live.parse_id(event.eid) or listener.seen)
    while not listener.closed:
        if listener.refetch:
            listener.refetch = False
            await _send(response, transport, Frame.of("{}", "refetch"))
        # Events that arrived while this task was writing, or while the reader's socket was
        # backed up: written here, each awaited, so a slow reader holds up no one else.
        while listener.pending:
            frame = listener.pending.popleft()
            if frame.order > listener.seen:
                listener.seen = frame.order
                await _send(response, transport, frame)
        if listener.closed or not response.is_connected():
            break
        listener.direct(transport, chunked)  # caught up: the hub writes from here on
        # Woken when the hub hands the stream back, or after a heartbeat's time to notice a
        # reader who left (the heartbeat's failed write ends the response).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(listener.wait(), ping)


async def _send(
    response: EventSourceResponse, transport: asyncio.WriteTransport | None, frame: Frame
) -> None:
    """EventSourceResponse.send for an event framed already: a stalled reader is cut off."""
    try:
        async with asyncio.timeout(SEND_TIMEOUT_S):
            await response.write(frame.sse)
    except TimeoutError:
        if transport is not None:
            transport.abort()  # a graceful close would wait on the stalled reader too
        raise
