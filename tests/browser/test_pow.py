"""The proof of work in headless Chromium: the widget solves it off the main thread while the
reader types (a Worker from a Blob on a news site's page, from embed-form.js itself on the
service's own demo page, and on the main thread where a page's CSP refuses both), the post
carries it, a replayed or expired solution is refused, and a reader without JavaScript still
posts (held)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
import redis
from playwright.async_api import Page, Request, Worker, expect

from service.core import pow
from service.core.validation import POW_FIELD
from service.entry.embedded_redis import RedisServer
from tests.browser.conftest import Console, Site, make_site, running
from tests.browser.test_widget import fill_form, widget
from tests.helpers import drain, stored_comments

ARTICLE = "moon-base"


@pytest.fixture
async def short_lived(redis_server: RedisServer, rconn: redis.Redis) -> AsyncIterator[Site]:
    """Challenges that expire 3 s after they are issued."""
    async with running(make_site(redis_server, rconn, pow_max_age_s=3)) as running_site:
        yield running_site


def watch(page: Page) -> tuple[list[str], list[dict[str, object]]]:
    """The Workers the page starts, and the comments it posts (their JSON bodies)."""
    workers: list[str] = []
    posts: list[dict[str, object]] = []

    def on_request(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/api/v1/comments"):
            posts.append(json.loads(request.post_data or "{}"))

    def on_worker(worker: Worker) -> None:
        workers.append(worker.url)

    page.on("worker", on_worker)
    page.on("request", on_request)
    return workers, posts


async def post_comment(page: Page, text: str) -> None:
    w = widget(page)
    await fill_form(page, comment=text)
    await w.locator("button.submit").click()
    await expect(w.locator("form .status")).to_have_text(
        "Thank you. Your comment is awaiting moderation."
    )


async def replay(site: Site, body: dict[str, object], **changes: object) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{site.api}/api/v1/comments", json={**body, **changes}) as resp,
    ):
        assert resp.status == 202, await resp.text()
        comment_id: str = (await resp.json())["id"]
        return comment_id


async def test_solved_in_a_blob_worker_posted_and_a_replay_refused(site: Site, page: Page) -> None:
    workers, posts = watch(page)
    await page.goto(site.article_page("/news/moon", ARTICLE))
    await post_comment(page, "Proof of work, solved while I typed.")
    assert len(workers) == 1
    assert workers[0].startswith("blob:")
    [body] = posts
    assert isinstance(body[POW_FIELD], str)
    [(first, record)] = stored_comments(site.conn).items()
    assert record["pow"] == pow.VALID

    # A bot copies the solution onto its own comment: accepted, found replayed, not published.
    second = await replay(site, body, comment="Copied work.", name="Bot")
    await drain(site.settings)
    records = stored_comments(site.conn)
    assert records[first]["pow"] == pow.VALID
    assert records[second]["pow"] == pow.REPLAYED
    assert records[second]["status"] != "approved"

    # The widget's next comment brings a fresh challenge and solution of its own.
    await post_comment(page, "And a second thought.")
    # The status already said "Thank you" after the first: wait for the second's own comment.
    await expect(widget(page).locator("li.pending")).to_have_count(2)
    assert posts[1][POW_FIELD] != body[POW_FIELD]
    third = next(c for c, r in stored_comments(site.conn).items() if c not in (first, second))
    assert stored_comments(site.conn)[third]["pow"] == pow.VALID


async def test_an_expired_solution_is_refused_and_the_widget_renews_its_own(
    short_lived: Site, page: Page
) -> None:
    site = short_lived
    _, posts = watch(page)
    await page.goto(site.article_page("/news/moon", ARTICLE))
    await widget(page).locator("form textarea").focus()
    await asyncio.sleep(3.5)  # the challenge fetched on focus has expired meanwhile
    await post_comment(page, "Typed slowly.")
    [record] = stored_comments(site.conn).values()
    assert record["pow"] == pow.VALID  # the widget solved a fresh one before posting
    await asyncio.sleep(3.5)
    late = await replay(site, posts[0], comment="Too late.")
    assert stored_comments(site.conn)[late]["pow"] == pow.EXPIRED
    await drain(site.settings)
    assert stored_comments(site.conn)[late]["status"] != "approved"


async def test_the_demo_page_solves_with_its_own_csp(
    site: Site, quiet_page: Page, console: Console
) -> None:
    """The service's demo page allows scripts from itself only (no blob: Workers): the widget
    starts its Worker from embed-form.js (a module Worker), and nothing is refused."""
    workers, _ = watch(quiet_page)
    await quiet_page.goto(site.api + "/")
    await post_comment(quiet_page, "Posted from the demo page.")
    [worker] = workers
    assert worker.startswith(site.api + "/embed-form.")
    [record] = stored_comments(site.conn).values()
    assert record["pow"] == pow.VALID
    assert console.errors == []


async def test_a_strict_host_page_solves_on_the_main_thread(site: Site, page: Page) -> None:
    """A news page whose CSP has no `worker-src blob:`: Chromium refuses the Worker, and the
    widget solves with WebCrypto from the page instead."""
    policy = (
        f"default-src 'none'; script-src {site.api}; connect-src {site.api}; "
        "style-src 'unsafe-inline'"
    )
    html = site.article_page("/strict", ARTICLE).removeprefix(site.origin)
    site.pages[html] = site.pages[html].replace(
        "<head>", f'<head><meta http-equiv="Content-Security-Policy" content="{policy}">'
    )
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "worker" in m.text.lower() else None)
    workers, _ = watch(page)
    await page.goto(site.origin + "/strict")
    await post_comment(page, "Solved on the main thread.")
    assert workers == []
    assert refused  # Chromium says why, once
    [record] = stored_comments(site.conn).values()
    assert record["pow"] == pow.VALID


async def test_without_javascript_a_comment_is_held_not_refused(
    site: Site, nojs_page: Page
) -> None:
    await nojs_page.goto(site.api + "/")
    form = nojs_page.locator("form.reply")
    await form.locator("[name=comment]").fill("No scripts here, and no puzzle either.")
    await form.locator("[name=name]").fill("Lin")
    await form.locator("[name=email]").fill("lin@example.org")
    await form.locator("button").click()
    assert nojs_page.url == site.api + "/#comment-pending"
    await drain(site.settings)
    [record] = stored_comments(site.conn).values()
    assert "pow" not in record  # never claimed: None for the scorer
    assert record["status"] == "held"
