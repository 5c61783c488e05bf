"""CORS for the endpoints the widget calls from other sites' pages.

Only origins in COMMENTS_ALLOWED_ORIGINS (plus the service's own) may use them from a browser;
others get a 403 in the usual JSON shape. Requests without an Origin header (servers, curl,
same-origin GETs) are not browser cross-origin calls and pass. No cookies are involved, so
credentials are never allowed.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from service.core.origins import origin_allowed, origin_of
from service.web.appkeys import SETTINGS
from service.web.errors import ApiError, error_response, language_of

WIDGET_PATHS = frozenset(
    {
        "/api/v1/comments",
        "/api/v1/comment-status",
        "/api/v1/counts",
        "/api/v1/form-token",
        "/api/v1/privacy/requests",
        "/api/v1/stream",
    }
)
# A reader's actions on one comment: PATCH/DELETE /api/v1/comments/<id>, its /vote and the like.
COMMENT_PATHS = "/api/v1/comments/"
PREFLIGHT = {
    "Access-Control-Allow-Methods": "GET, POST, PATCH, DELETE",
    "Access-Control-Allow-Headers": "Content-Type, Idempotency-Key, Authorization",
    "Access-Control-Max-Age": "86400",
}


def cors_headers(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        # So the widget can say when to try again after a 429 or 503.
        "Access-Control-Expose-Headers": "Retry-After",
        "Vary": "Origin",
    }


def allowed(request: web.Request, origin: str) -> bool:
    settings = request.app[SETTINGS]
    own = (origin_of(settings.public_url) or "", f"{request.scheme}://{request.host}")
    return origin_allowed(origin, (*settings.allowed_origins, *own))


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path not in WIDGET_PATHS and not request.path.startswith(COMMENT_PATHS):
        return await handler(request)
    origin = request.headers.get("Origin")
    if origin is None:
        response = await handler(request)
        if not response.prepared:  # a live stream sent its headers long ago
            response.headers.add("Vary", "Origin")
        return response
    headers = cors_headers(origin)
    if not allowed(request, origin):
        # The error itself is readable by that page, so its developer sees why.
        return error_response(
            ApiError(
                403,
                "origin_not_allowed",
                "This site may not use the comment service: its origin is not in "
                "COMMENTS_ALLOWED_ORIGINS.",
                headers=headers,
            ),
            language_of(request),
        )
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        return web.Response(status=204, headers={**headers, **PREFLIGHT})
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # redirects and 304s
        exc.headers.extend(headers)
        raise
    if not response.prepared:  # a live stream (routes/stream.py) sent these itself
        response.headers.extend(headers)  # extend: a handler's own Vary stays
    return response
