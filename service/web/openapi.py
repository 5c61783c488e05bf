"""GET /api/v1/openapi.json: the API's contract, OpenAPI 3.1, served as the file in the repo.

`service/web/openapi.json` is written by hand next to the routes it describes; the tests
validate it (openapi-spec-validator), check that every route is in it, and run schemathesis
against the real service with it: every response must conform and none may be a 5xx.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import resources

from aiohttp import web

DOCUMENT = "openapi.json"
routes = web.RouteTableDef()


@functools.cache
def document() -> tuple[bytes, str]:
    """The document's bytes and their ETag, read once."""
    body = resources.files("service.web").joinpath(DOCUMENT).read_bytes()
    return body, f'"{hashlib.sha256(body).hexdigest()[:16]}"'


@routes.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    body, etag = document()
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=3600",
        # A public description: documentation tools on any site may read it.
        "Access-Control-Allow-Origin": "*",
    }
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", headers=headers)
