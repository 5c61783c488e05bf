"""Security headers on every response, error pages included."""

from __future__ import annotations

from aiohttp import web

DEFAULTS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}
# JSON never needs to load anything or be framed.
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
# The server-rendered pages: inline styles only, forms post back here.
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
)


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in DEFAULTS.items():
        response.headers.setdefault(name, value)
    is_json = response.headers.get("Content-Type", "").startswith("application/json")
    response.headers.setdefault("Content-Security-Policy", API_POLICY if is_json else PAGE_POLICY)
