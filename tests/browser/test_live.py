"""Live updates in Chromium: a comment approved while the reader has the page open (and
scrolls) is announced as "1 new comment" and inserted only on click, with no layout shift;
edits, removals and changes the service cannot name show in place; without EventSource the
widget re-fetches the first page instead."""

from __future__ import annotations

import asyncio

from playwright.async_api import Page, Route, expect

from service.store import moderation
from tests.browser.conftest import Site
from tests.browser.test_widget import widget

ARTICLE = "live-results"
# Sums the page's layout shifts not caused by the reader's input (Cumulative Layout Shift).
CLS_SCRIPT = """
window.__cls = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (!e.hadRecentInput) window.__cls += e.value;
}).observe({ type: "layout-shift", buffered: true });
"""


async def test_a_comment_approved_while_reading_waits_for_the_readers_click(
    site: Site, page: Page
) -> None:
    first = await site.published(ARTICLE, comment="The first comment.")
    await page.add_init_script(CLS_SCRIPT)
    url = site.article_page("/live", ARTICLE)
    async with page.expect_response(lambda r: "/api/v1/stream?" in r.url) as stream:
        await page.goto(url)
    assert (await stream.value).status == 200
    w = widget(page)
    await expect(w.locator("h2")).to_have_text("1 comment")
    top = w.locator("ol.list > li.c")
    await expect(top).to_have_count(1)
    # Settled: what happens from here on is the live update's doing.
    await page.evaluate("() => new Promise((r) => requestAnimationFrame(() => r()))")
    before = await page.evaluate("window.__cls")

    second = await site.published(ARTICLE, comment="Published while you read.")
    fresh = w.locator("button.fresh")
    await expect(fresh).to_have_text("1 new comment")
    await expect(w.locator("h2")).to_have_text("2 comments")
    await expect(top).to_have_count(1)  # nothing moved under the reader's eyes
    shifted = await page.evaluate("window.__cls") - before
    assert shifted <= 0.01, shifted

    await fresh.click()
    await expect(top).to_have_count(2)
    assert [await li.get_attribute("id") for li in await top.all()] == [
        f"c-{first}",
        f"c-{second}",
    ]
    await expect(w.locator(f"#c-{second} .text")).to_have_text("Published while you read.")
    await expect(fresh).to_have_attribute("aria-hidden", "")

    # A reply is announced too, and lands under its parent.
    reply = await site.published(ARTICLE, comment="A reply.", parent_id=first)
    await expect(fresh).to_have_text("1 new comment")
    await fresh.click()
    await expect(w.locator(f"#c-{first} > ol.replies > li#c-{reply}")).to_have_count(1)


async def test_a_comment_published_before_the_stream_opens_is_announced_too(
    site: Site, page: Page
) -> None:
    """The first page names the live position it was read at; the stream starts there, so a
    change between the two (a slow network, the live module still loading) is not lost."""
    await site.published(ARTICLE, comment="The first comment.")
    asked: list[str] = []
    requested, opened = asyncio.Event(), asyncio.Event()

    async def hold(route: Route) -> None:
        asked.append(route.request.url)
        requested.set()
        await opened.wait()
        await route.continue_()

    await page.route(lambda url: "/api/v1/stream?" in url, hold)
    await page.goto(site.article_page("/gap", ARTICLE))
    w = widget(page)
    await expect(w.locator("h2")).to_have_text("1 comment")
    await asyncio.wait_for(requested.wait(), 10)  # the widget asked for its stream: held
    await site.published(ARTICLE, comment="Published before the stream opened.")
    opened.set()
    await expect(w.locator("button.fresh")).to_have_text("1 new comment")
    await expect(w.locator("h2")).to_have_text("2 comments")
    assert "last_event_id=" in asked[0]


async def test_without_event_source_the_first_page_is_polled(site: Site, page: Page) -> None:
    there = await site.published(ARTICLE, comment="Already there.")
    await page.add_init_script("delete window.EventSource;")
    await page.clock.install()
    # The first poll is the baseline: what was there already is not "new".
    async with page.expect_response(lambda r: "sort=newest" in r.url):
        await page.goto(site.article_page("/poll", ARTICLE))
    w = widget(page)
    await expect(w.locator("ol.list > li.c")).to_have_count(1)
    newer = await site.published(ARTICLE, comment="Seen by polling.")
    await page.clock.run_for(31_000)
    fresh = w.locator("button.fresh")
    await expect(fresh).to_have_text("1 new comment")
    await fresh.click()
    await expect(w.locator(f"#c-{newer}")).to_have_count(1)
    await expect(w.locator("ol.list > li.c")).to_have_count(2)

    # Edits on the polled page show in place as well.
    await asyncio.to_thread(moderation.edit_text, site.conn, there, "Corrected.", "mod")
    await page.clock.run_for(31_000)
    await expect(w.locator(f"#c-{there} > article .text")).to_have_text("Corrected.")


async def test_while_the_reader_scrolls_a_new_comment_shifts_nothing_and_edits_show(
    site: Site, page: Page
) -> None:
    ids = [await site.published(ARTICLE, comment=f"Comment number {i}.") for i in range(12)]
    await page.add_init_script(CLS_SCRIPT)
    async with page.expect_response(lambda r: "/api/v1/stream?" in r.url):
        await page.goto(site.article_page("/scroll", ARTICLE))
    w = widget(page)
    top = w.locator("ol.list > li.c")
    await expect(top).to_have_count(12)
    await page.evaluate("() => new Promise((r) => requestAnimationFrame(() => r()))")
    before = await page.evaluate("window.__cls")

    # The reader scrolls down the thread while a comment is published and announced.
    await page.mouse.move(400, 700)
    await page.mouse.wheel(0, 500)
    await site.published(ARTICLE, comment="Arrived while you scrolled.")
    await page.mouse.wheel(0, 500)
    await expect(w.locator("button.fresh")).to_have_text("1 new comment")
    await page.mouse.wheel(0, -300)
    await page.evaluate("() => new Promise((r) => requestAnimationFrame(() => r()))")
    assert await page.evaluate("window.scrollY") > 0  # it did scroll
    shifted = await page.evaluate("window.__cls") - before
    assert shifted <= 0.01, shifted
    await expect(top).to_have_count(12)

    # A moderator corrects a comment: it changes where it stands, marked "edited".
    await asyncio.to_thread(moderation.edit_text, site.conn, ids[3], "Corrected text.", "mod")
    edited = w.locator(f"#c-{ids[3]} > article")
    await expect(edited.locator(".text")).to_have_text("Corrected text.")
    await expect(edited.locator(".meta")).to_contain_text("edited")

    # A removed comment disappears, and the count follows.
    await site.decide(ids[5], "reject")
    await expect(w.locator(f"#c-{ids[5]}")).to_have_count(0)
    await expect(w.locator("h2")).to_have_text("12 comments")

    # A change the service cannot name (a moderator's pick): the pages shown are fetched
    # again and updated in place; the new comment is still only announced.
    await asyncio.to_thread(moderation.feature, site.conn, ids[7], "mod", on=True)
    await expect(w.locator(f"#c-{ids[7]} .badge")).to_have_text("Featured")
    await expect(top).to_have_count(11)
    await expect(w.locator("button.fresh")).to_have_text("1 new comment")
