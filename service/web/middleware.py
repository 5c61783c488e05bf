"""The one middleware every request passes, outermost first: its request id, its metrics,
its security headers, CORS, then the error path with the request's time limit.

They were four aiohttp middlewares; one function costs a coroutine frame and a partial per
request instead of four, and what they need per app (settings, metrics, deadlines) is bound
once here instead of looked up on each request. What each adds is unchanged: metrics see the
final answer the error path made, CORS sits outside the error path so error answers carry its
headers too, and the request id is on every answer, redirects included.
"""

from __future__ import annotations

import time

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from service.core.logs import request_id
from service.core.settings import Settings
from service.web import cors
from service.web.deadlines import Deadlines
from service.web.errors import DEADLINE, ERROR_CODE, answer_to
from service.web.headers import REQUEST_ID, secure
from service.web.metrics_registry import Metrics
from service.web.request_ids import request_id_of


def request_stack(settings: Settings, metrics: Metrics) -> Middleware:
    deadlines = Deadlines(settings.request_timeout_s)

    @web.middleware
    async def stack(request: web.Request, handler: Handler) -> web.StreamResponse:
        current = request_id_of(request.headers.get(REQUEST_ID))
        token = request_id.set(current)
        start = time.perf_counter()
        widget = cors.applies(request.path)
        origin = request.headers.get(hdrs.ORIGIN) if widget else None
        allow = cors.cors_headers(origin) if origin is not None else None
        try:
            try:
                early = None
                if origin is not None and allow is not None:
                    early = cors.answered_here(request, settings, origin, allow)
                if early is not None:
                    response: web.StreamResponse = early
                else:
                    response = await _within_limit(request, handler, deadlines)
                    # A live stream (routes/stream.py) sent its headers itself long ago.
                    if widget and not response.prepared:
                        if allow is None:
                            response.headers.add(hdrs.VARY, "Origin")
                        else:
                            response.headers.extend(allow)  # extend: a handler's Vary stays
            except web.HTTPException as answer:  # 303 and 304 are raised
                if allow is not None:
                    answer.headers.extend(allow)
                secure(answer.headers)
                seconds = time.perf_counter() - start
                resource = request.match_info.route.resource
                metrics.answered(resource, request.method, answer.status, None, seconds)
                answer.headers[REQUEST_ID] = current
                raise
            seconds = time.perf_counter() - start
            resource = request.match_info.route.resource
            code = response.get(ERROR_CODE)
            metrics.answered(resource, request.method, response.status, code, seconds)
            if not response.prepared:
                secure(response.headers)
            response.headers[REQUEST_ID] = current
            return response
        finally:
            request_id.reset(token)

    return stack


async def _within_limit(
    request: web.Request, handler: Handler, deadlines: Deadlines
) -> web.StreamResponse:
    """The error path: every failure as the same JSON shape, within the request's time limit
    (which bounds body reading too)."""
    try:
        with deadlines.start() as deadline:
            request[DEADLINE] = deadline  # a live stream lifts it once it has started
            return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects and 304s are answers, not errors
        return answer_to(request, exc)
    except Exception as exc:
        return answer_to(request, exc)
