"""Security headers on every response, error pages included.

Added by the request stack (service/web/middleware.py) to each answer before it is sent; a
response a handler sends itself (the live stream) adds them before `prepare`. They were an
`on_response_prepare` hook: a signal sent per response cost more than the headers.
"""

from __future__ import annotations

from aiohttp import hdrs
from multidict import CIMultiDict, istr

# Names as istr, multidict's case-insensitive keys: a plain str is case-folded on every use.
DEFAULTS = {
    istr("X-Content-Type-Options"): "nosniff",
    istr("Referrer-Policy"): "strict-origin-when-cross-origin",
    istr("X-Frame-Options"): "DENY",
}
POLICY = istr("Content-Security-Policy")
REQUEST_ID = istr("X-Request-ID")
# JSON never needs to load anything or be framed.
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
# The server-rendered pages: inline styles only, forms post back here.
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
)


def secure(headers: CIMultiDict[str]) -> None:
    """Add the security headers a handler did not set itself (pages set their own policy)."""
    for name, value in DEFAULTS.items():
        headers.setdefault(name, value)
    is_json = headers.get(hdrs.CONTENT_TYPE, "").startswith("application/json")
    headers.setdefault(POLICY, API_POLICY if is_json else PAGE_POLICY)
