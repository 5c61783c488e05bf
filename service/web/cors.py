"""CORS for the endpoints the widget calls from other sites' pages.

Only origins in COMMENTS_ALLOWED_ORIGINS (plus the service's own) may use them from a browser;
others get a 403 in the usual JSON shape. Requests without an Origin header (servers, curl,
same-origin GETs) are not browser cross-origin calls and pass. No cookies are involved, so
credentials are never allowed. Applied by the request stack (service/web/middleware.py).
"""

from __future__ import annotations

from aiohttp import web

from service.core.origins import origin_allowed, origin_of
from service.core.settings import Settings
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


def applies(path: str) -> bool:
    return path in WIDGET_PATHS or path.startswith(COMMENT_PATHS)


def cors_headers(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        # So the widget can say when to try again after a 429 or 503.
        "Access-Control-Expose-Headers": "Retry-After",
        "Vary": "Origin",
    }


def allowed(request: web.Request, settings: Settings, origin: str) -> bool:
    own = (origin_of(settings.public_url) or "", f"{request.scheme}://{request.host}")
    return origin_allowed(origin, (*settings.allowed_origins, *own))


def answered_here(
    request: web.Request, settings: Settings, origin: str, headers: dict[str, str]
) -> web.Response | None:
    """The answer to a refused origin or a preflight, which never reach a handler."""
    if not allowed(request, settings, origin):
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
    return None
