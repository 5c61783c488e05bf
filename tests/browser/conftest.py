"""A real deployment for browser tests: the API (with the demo page) on one origin, a news
site's pages on another, and headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
import redis
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from service.core.settings import Settings
from service.entry.embedded_redis import RedisServer, free_port
from service.store import moderation
from service.web.app import create_app
from tests.helpers import make_settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("COMMENTS_TEST_ARTIFACTS", "test-artifacts"))
# Stylesheet of a careless host page: nothing in it may reach inside the widget.
HOSTILE_CSS = """
* { color: rgb(255, 0, 0) !important; font-family: monospace !important; }
ol, li, label { display: inline !important; }
.c, .author, .text, .submit, textarea { display: none !important; }
"""


@dataclass
class Site:
    api: str  # the comment service's origin
    origin: str  # the news site's origin, a different one
    settings: Settings
    conn: redis.Redis
    pages: dict[str, str] = field(default_factory=dict)

    def article_page(self, path: str, article: str, *, attrs: str = "", extra: str = "") -> str:
        """Serve a news article embedding the widget at `path`; returns its URL."""
        self.pages[path] = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>Host article</title><style>{HOSTILE_CSS}</style></head><body>"
            f'<h1>A news article</h1>{extra}<div id="comments"></div>'
            f'<script src="{self.api}/embed.js" data-article="{article}" {attrs} async></script>'
            "</body></html>"
        )
        return self.origin + path

    async def post(self, article: str, **fields: object) -> str:
        body = {"name": "Ada", "email": "ada@example.org", "comment": "Hello.", **fields}
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.api}/api/v1/comments", json={"article": article, **body}) as resp,
        ):
            assert resp.status == 202, await resp.text()
            comment_id: str = (await resp.json())["id"]
            return comment_id

    async def decide(self, comment_id: str, action: str = "approve") -> None:
        await asyncio.to_thread(
            moderation.apply, self.conn, self.settings, comment_id, action, "test"
        )

    async def published(self, article: str, **fields: object) -> str:
        comment_id = await self.post(article, **fields)
        await self.decide(comment_id)
        return comment_id


async def serve(app: web.Application, port: int) -> TestServer:
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    return server


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(viewport={"width": 900, "height": 1400})
    yield ctx
    await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    """A tab; the test fails if a script on it threw or opened a dialog (an XSS would)."""
    page = await context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    yield page
    assert errors == []


def make_site(redis_server: RedisServer, rconn: redis.Redis, **overrides: object) -> Site:
    api_port, site_port = free_port(), free_port()
    api, origin = f"http://127.0.0.1:{api_port}", f"http://localhost:{site_port}"
    settings = make_settings(
        redis_server.url, public_url=api, allowed_origins=(origin,), **overrides
    )
    return Site(api, origin, settings, rconn)


@pytest.fixture
async def site(redis_server: RedisServer, rconn: redis.Redis) -> AsyncIterator[Site]:
    async with running(make_site(redis_server, rconn)) as running_site:
        yield running_site


class running:
    """Start the API and the news site for a Site; stop both afterwards."""

    def __init__(self, site: Site) -> None:
        self.site, self.servers = site, list[TestServer]()

    async def __aenter__(self) -> Site:
        site = self.site
        news = web.Application()

        async def page_handler(request: web.Request) -> web.Response:
            html = site.pages.get(request.path)
            if html is None:
                raise web.HTTPNotFound()
            return web.Response(text=html, content_type="text/html")

        news.router.add_get("/{path:.*}", page_handler)
        api_port = int(site.api.rsplit(":", 1)[1])
        site_port = int(site.origin.rsplit(":", 1)[1])
        self.servers = [
            await serve(create_app(site.settings, demo_page=True), api_port),
            await serve(news, site_port),
        ]
        return site

    async def __aexit__(self, *exc: object) -> None:
        for server in self.servers:
            await server.close()
