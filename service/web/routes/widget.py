"""Serving the widget: embed.js and the parts it imports on demand (embed-<part>.js), read and
gzipped once, cacheable by any site that embeds them.

`/embed.js` is the stable name for the script tag (revalidated hourly by ETag); the same bytes
under `/embed.<hash>.js` never change and are cached for a year (for pages that pin a version,
with Subresource Integrity if they like). The parts are served the same way, under
`/embed-<part>.js` and `/embed-<part>.<hash>.js`; embed.js asks for the pinned names.
"""

from __future__ import annotations

from aiohttp import web

from service.web.appkeys import EMBED
from service.web.assets import Asset

CONTENT_TYPE = "text/javascript; charset=utf-8"
STABLE = "public, max-age=3600, stale-while-revalidate=86400"
PINNED = "public, max-age=31536000, immutable"


routes = web.RouteTableDef()


@routes.get("/embed.js")
@routes.get("/embed.{digest:[0-9a-f]{12}}.js")
async def embed_js(request: web.Request) -> web.StreamResponse:
    return _serve(request, request.app[EMBED].embed)


@routes.get("/embed-{part:[a-z]{2,8}}.js")
@routes.get("/embed-{part:[a-z]{2,8}}.{digest:[0-9a-f]{12}}.js")
async def embed_part(request: web.Request) -> web.StreamResponse:
    asset = request.app[EMBED].parts.get(request.match_info["part"])
    if asset is None:
        raise web.HTTPNotFound()
    return _serve(request, asset)


def _serve(request: web.Request, asset: Asset) -> web.StreamResponse:
    pinned = request.match_info.get("digest")
    if pinned is not None and pinned != asset.digest:
        raise web.HTTPNotFound()  # an old version we no longer have; never serve other bytes
    headers = {
        "Content-Type": CONTENT_TYPE,
        "Cache-Control": PINNED if pinned else STABLE,
        "ETag": f'"{asset.digest}"',
        "Vary": "Accept-Encoding",
        # Any page may run them (the parts are ES modules, fetched with CORS); the scripts
        # decide nothing about who may call the API.
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Access-Control-Allow-Origin": "*",
    }
    if f'"{asset.digest}"' in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        return web.Response(body=asset.gzipped, headers={**headers, "Content-Encoding": "gzip"})
    return web.Response(body=asset.body, headers=headers)
