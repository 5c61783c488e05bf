"""Who sent a request: the one answer every per-client limit and record uses."""

from __future__ import annotations

from aiohttp import web

from service.core.origins import client_ip
from service.web.appkeys import SETTINGS


def client_address(request: web.Request) -> str:
    """The client's IP: the socket peer, or, behind a trusted proxy (COMMENTS_TRUSTED_PROXIES),
    the address it forwarded. Counting the proxy instead would make one client's limit
    everyone's."""
    return client_ip(
        request.remote,
        request.headers.get("X-Forwarded-For"),
        request.app[SETTINGS].trusted_proxies,
    )
