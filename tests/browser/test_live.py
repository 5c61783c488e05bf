"""Live updates in Chromium: a comment approved while the reader has the page open is
announced as "1 new comment" and inserted only on click, with no layout shift; without
EventSource the widget re-fetches the first page instead."""

from __future__ import annotations

from playwright.async_api import Page, expect

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


async def test_without_event_source_the_first_page_is_polled(site: Site, page: Page) -> None:
    await site.published(ARTICLE, comment="Already there.")
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
