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
from service.web.live import Listener
from service.web.routes.comments import article_param

routes = web.RouteTableDef()
# How long a browser waits before reconnecting a dropped stream (EventSource's `retry`).
RETRY_MS = 3000


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
        await response.prepare(request)
        # Set up within the request time limit like any request; the stream itself lasts as
        # long as the reader stays.
        request[DEADLINE].reschedule(None)
        try:
            await _serve(response, listener, missed, here, ping)
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
) -> None:
    seen = live.parse_id(here) or (0, 0)
    if missed is None:  # the reader reloads; a later reconnect resumes from here
        await response.send("{}", id=here, event="refetch", retry=RETRY_MS)
    else:
        await response.send("{}", id=here, event="ready", retry=RETRY_MS)
        for event in missed:
            await response.send(event.data(), id=event.eid, event=event.kind)
            seen = max(seen, live.parse_id(event.eid) or seen)
    while not listener.closed:
        if listener.refetch:
            listener.refetch = False
            await response.send("{}", event="refetch")
        while listener.events:
            event = listener.events.popleft()
            order = live.parse_id(event.eid) or (0, 0)
            if order <= seen:  # already sent from the replay buffer
                continue
            seen = order
            await response.send(event.data(), id=event.eid, event=event.kind)
        if listener.closed or not response.is_connected():
            break
        # Woken by an event, or after a heartbeat's time to notice a reader who left (the
        # heartbeat's failed write ends the response).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(listener.wait(), ping)
