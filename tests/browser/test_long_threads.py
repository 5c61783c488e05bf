"""A 2,000-comment thread in Chromium: the first page only, then "Load more comments" and
"Show N more replies"."""

from __future__ import annotations

from playwright.async_api import Page, Request, expect

from tests.browser.conftest import Site
from tests.browser.test_widget import widget
from tests.helpers import seed_thread

ARTICLE = "election-night"


async def test_a_long_thread_loads_page_by_page(site: Site, page: Page) -> None:
    # One comment with 24 replies, then 395 with 4 each: 2,000 comments in all.
    [busy] = seed_thread(site.conn, ARTICLE, 1, replies=24, start=1_600_000_000.0)
    roots = [busy, *seed_thread(site.conn, ARTICLE, 395, replies=4)]
    reads: list[str] = []

    def on_request(request: Request) -> None:
        if "/api/v1/comments?" in request.url:
            reads.append(request.url)

    page.on("request", on_request)
    await page.goto(site.article_page("/live", ARTICLE))
    w = widget(page)
    await expect(w.locator("h2")).to_have_text("2000 comments")
    top = w.locator("ol.list > li.c")
    await expect(top).to_have_count(20)
    assert [await li.get_attribute("id") for li in await top.all()] == [
        f"c-{r}" for r in roots[:20]
    ]
    assert len(reads) == 1  # one page, not the thread

    more = w.locator("ol.list > li.more button")
    await expect(more).to_have_text("Load more comments")
    await more.click()
    await expect(top).to_have_count(40)
    await more.click()
    await expect(top).to_have_count(60)
    assert await top.nth(59).get_attribute("id") == f"c-{roots[59]}"
    assert len({await li.get_attribute("id") for li in await top.all()}) == 60

    replies = w.locator(f"#c-{busy} > ol.replies > li.c")
    await expect(replies).to_have_count(3)
    show = w.locator(f"#c-{busy} > ol.replies > li.more button")
    await expect(show).to_have_text("Show 21 more replies")
    await show.click()
    await expect(replies).to_have_count(23)
    await expect(show).to_have_text("Show 1 more reply")
    await show.click()
    await expect(replies).to_have_count(24)
    await expect(show).to_have_count(0)
    await expect(w.locator(f"#c-{roots[1]} > ol.replies > li.more button")).to_have_text(
        "Show 1 more reply"
    )


async def test_newest_first_starts_at_the_latest_comment(site: Site, page: Page) -> None:
    roots = seed_thread(site.conn, ARTICLE, 30, replies=1)
    await page.goto(site.article_page("/live", ARTICLE, attrs='data-sort="newest"'))
    top = widget(page).locator("ol.list > li.c")
    await expect(top).to_have_count(20)
    assert await top.first.get_attribute("id") == f"c-{roots[-1]}"
    await widget(page).locator("ol.list > li.more button").click()
    await expect(top).to_have_count(30)
    assert await top.last.get_attribute("id") == f"c-{roots[0]}"
