"""The "Your comments and data" page end to end in Chromium: the widget's link, the
service's page, the mail (a real in-process SMTP server), its link, the download and the
erasure."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import redis
from playwright.async_api import BrowserContext, Page, expect

from service.entry.embedded_redis import RedisServer
from service.store import privacy_data
from tests.browser.conftest import Console, make_site, running
from tests.browser.test_widget import widget
from tests.helpers import Recorder, drain, email_hash, key_dump, stored_comments

ARTICLE = "data-rights"
ADDRESS = "ada@example.org"  # Site.post's


async def test_a_reader_downloads_then_erases_their_comments_from_the_widgets_link(
    redis_server: RedisServer,
    rconn: redis.Redis,
    smtp: tuple[int, Recorder],
    context: BrowserContext,
    page: Page,
    console: Console,
) -> None:
    port, recorder = smtp
    mailing = make_site(redis_server, rconn, smtp_url=f"smtp://127.0.0.1:{port}")
    async with running(mailing) as site:
        first = await site.published(ARTICLE, comment="My first words.")
        second = await site.post(ARTICLE, comment="Awaiting moderation.")
        await page.goto(site.article_page("/data", ARTICLE))  # the news site's, no favicon
        link = widget(page).get_by_role("link", name="Your comments and data")
        async with context.expect_page() as opened:
            await link.click()
        ask = console.watch(await opened.value)
        await expect(ask.locator("h1")).to_have_text("Your comments and data")

        # An address with no comments here gets the same answer, and no mail.
        await ask.get_by_label("Your email address").fill("nobody-here@example.org")
        await ask.get_by_role("button", name="Send me the link").click()
        await expect(ask.locator("h1")).to_have_text("Check your inbox")
        same = await ask.locator("p").first.text_content()
        await ask.go_back()
        await ask.reload()
        await ask.get_by_label("Your email address").fill(" Ada@Example.org ")
        await ask.get_by_role("button", name="Send me the link").click()
        await expect(ask.locator("h1")).to_have_text("Check your inbox")
        assert await ask.locator("p").first.text_content() == same
        assert ADDRESS.lower() not in (await ask.content()).lower()

        await drain(site.settings, smtp_url=site.settings.smtp_url)
        # Beside the first-time commenter's confirmation mail: one privacy link, to Ada.
        mailed_link = re.compile(rf"{re.escape(site.api)}/privacy/\S+")
        mailed = [
            (rcpt, found)
            for rcpt, msg in recorder.messages
            if (body := msg.get_body(("plain",))) is not None
            and (found := mailed_link.search(str(body.get_content())))
        ]
        assert [rcpt for rcpt, _ in mailed] == [[ADDRESS]]
        found = mailed[0][1]
        await ask.goto(found.group(0))
        await expect(ask.locator("p").first).to_have_text("2 comments are stored for your address.")

        async with ask.expect_download() as started:
            await ask.get_by_role("button", name="Download my comments (JSON)").click()
        download = await started.value
        text = await asyncio.to_thread(Path(await download.path()).read_text, "utf-8")
        assert sorted(c["id"] for c in json.loads(text)["comments"]) == sorted([first, second])

        await ask.get_by_role("button", name="Erase my comments").click()
        await expect(ask.locator("h1")).to_have_text("Erased")
        records = stored_comments(site.conn)
        assert {records[cid]["name"] for cid in (first, second)} == {privacy_data.ANONYMOUS}
        assert email_hash(ADDRESS).encode() not in key_dump(site.conn)


async def test_the_request_page_refuses_a_bad_address_and_a_foreign_post(
    redis_server: RedisServer, rconn: redis.Redis, context: BrowserContext, console: Console
) -> None:
    async with running(make_site(redis_server, rconn)) as site:
        page = console.watch(await context.new_page())
        await page.goto(f"{site.api}/privacy")
        await page.get_by_label("Your email address").evaluate("e => e.type = 'text'")
        await page.get_by_label("Your email address").fill("not an address")
        await page.get_by_role("button", name="Send me the link").click()
        await expect(page.locator(".err")).to_have_text("Enter a valid email address.")
        console.allow_status(422)
        assert "not an address" not in await page.content()
        # Another page's form posting to it is refused (its origin, no CSRF value).
        await page.set_content(
            f'<form method="post" action="{site.api}/privacy">'
            '<input name="email" value="victim@example.org"><button>Win</button></form>'
        )
        await page.get_by_role("button", name="Win").click()
        await expect(page.locator("h1")).to_have_text("Not allowed")
        console.allow_status(403)
