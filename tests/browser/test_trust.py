"""Trust follows the browser that earned it, in real Chromium: the widget keeps a random
commenter key, and the same name and address typed into another browser is a new commenter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis
from playwright.async_api import Browser, Page, expect

from service.core.settings import Policy
from service.entry.embedded_redis import RedisServer
from tests.browser.conftest import Site, make_site, running
from tests.helpers import drain, stored_comments

ARTICLE = "trust-story"


async def post_from(page: Page, url: str, comment: str) -> str:
    """Type a comment into the widget as a reader does; the id the service gave it."""
    before = set(stored_comments_of(page))
    await page.goto(url)
    w = page.locator("#comments .root")
    for name, value in {"comment": comment, "name": "Rosa", "email": "rosa@example.org"}.items():
        await w.locator(f"form [name={name}]").fill(value)
    await w.locator("button.submit").click()
    await expect(w.locator("form .status")).to_contain_text("Thank you.")
    [new] = set(stored_comments_of(page)) - before
    return new


def stored_comments_of(page: Page) -> list[str]:
    site: Site = page.context.site  # type: ignore[attr-defined]
    return list(stored_comments(site.conn))


@pytest.fixture
async def quick_site(redis_server: RedisServer, rconn: redis.Redis) -> AsyncIterator[Site]:
    """A site whose policy expects readers as quick as a test: no minimum time to write a
    comment, and one second between comments is not a flood."""
    policy = Policy(min_submit_s=0.0, flood_window_s=1)
    async with running(make_site(redis_server, rconn, policy=policy)) as running_site:
        yield running_site


async def test_trust_belongs_to_the_browser_that_earned_it(
    quick_site: Site, browser: Browser
) -> None:
    site = quick_site
    url = site.article_page("/news/trust", ARTICLE)
    home = await browser.new_context()
    elsewhere = await browser.new_context()  # another browser: no localStorage in common
    try:
        home.site = site  # type: ignore[attr-defined]
        elsewhere.site = site  # type: ignore[attr-defined]
        rosa = await home.new_page()
        first = await post_from(rosa, url, "My first comment on this site.")
        await drain(site.settings)
        assert stored_comments(site.conn)[first]["status"] == "held"
        await site.decide(first)  # a moderator approves it: this browser is Rosa's
        await asyncio.sleep(1.1)  # past the (test-sized) flood window

        again = await post_from(rosa, url, "Back with another thought on the story.")
        await drain(site.settings)
        assert stored_comments(site.conn)[again]["status"] == "approved", stored_comments(
            site.conn
        )[again]["reasons"]
        await rosa.reload()
        await expect(rosa.locator(f"#comments .root #c-{again}")).to_be_visible()

        # Someone else typing Rosa's name and address gets no credit for them.
        await asyncio.sleep(1.1)
        other = await elsewhere.new_page()
        impostor = await post_from(other, url, "Rosa here: everyone should read my blog.")
        await drain(site.settings)
        assert stored_comments(site.conn)[impostor]["status"] == "held"
        key = await rosa.evaluate("localStorage.getItem('comments.commenter')")
        assert key is not None
        assert "rosa@example.org" not in key  # a random key, never the address
    finally:
        await home.close()
        await elsewhere.close()
