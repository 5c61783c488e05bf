"""A real deployment for browser tests: the API (with the demo page) on one origin, a news
site's pages on another, and headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
import redis
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

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


@dataclass
class Console:
    """The errors tabs log: a CSP violation (Chromium reports one even with JavaScript off),
    a thrown script, a response with an error status."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> Page:
        page.set_default_timeout(10_000)
        page.on("console", self._on_message)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        return page

    def allow_status(self, status: int) -> None:
        """Forget the logged responses with this status: a page the test expects to get it."""
        self.errors = [e for e in self.errors if f"status of {status} " not in e]

    def _on_message(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"{message.text} ({message.location.get('url', '')})")


@pytest.fixture
def console() -> Iterator[Console]:
    """The test fails if a tab it watched logged an error it did not allow."""
    watched = Console()
    yield watched
    assert watched.errors == [], "\n".join(watched.errors)


@pytest.fixture
async def quiet_page(context: BrowserContext, console: Console) -> Page:
    """A tab for the service's own pages, watched by `console`."""
    return console.watch(await context.new_page())


@pytest.fixture
async def nojs_page(browser: Browser, console: Console) -> AsyncIterator[Page]:
    """A tab with JavaScript off, as a reader without scripts has, watched by `console`."""
    ctx = await browser.new_context(java_script_enabled=False)
    yield console.watch(await ctx.new_page())
    await ctx.close()


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
