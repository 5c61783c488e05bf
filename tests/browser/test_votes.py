"""Voting in Chromium: one vote per browser that survives a reload, and `data-sort="top"`."""

from __future__ import annotations

from playwright.async_api import Page, expect

from service.core import keys
from tests.browser.conftest import Site
from tests.browser.test_widget import widget
from tests.helpers import redis_values, seed_thread

ARTICLE = "budget-vote"


async def test_a_reader_votes_once_and_top_puts_it_first(site: Site, page: Page) -> None:
    first, second, third = seed_thread(site.conn, ARTICLE, 3)
    url = site.article_page("/budget", ARTICLE)
    await page.goto(url)
    w = widget(page)
    button = w.locator(f"#c-{second} > article button.vote")
    await expect(button).to_have_text("▲ 0")
    await expect(button).to_have_attribute("aria-pressed", "false")
    await expect(button).to_have_attribute("aria-label", "Vote up (0)")
    await button.click()
    await expect(button).to_have_text("▲ 1")
    await expect(button).to_have_attribute("aria-pressed", "true")

    await page.reload()  # the count comes from the service, the pressed state from this browser
    await expect(button).to_have_text("▲ 1")
    await expect(button).to_have_attribute("aria-pressed", "true")
    await button.click()
    await expect(button).to_have_text("▲ 1")
    assert site.conn.hlen(keys.votes(second)) == 1
    reader = await page.evaluate("JSON.parse(localStorage.getItem('comments.reader'))")
    assert len(reader) == 32
    assert reader.encode() not in redis_values(site.conn)  # only a keyed hash is stored

    await page.goto(site.article_page("/top", ARTICLE, attrs='data-sort="top"'))
    top = w.locator("ol.list > li.c")
    await expect(top).to_have_count(3)
    ids = [str(await li.get_attribute("id")) for li in await top.all()]
    assert ids[0] == f"c-{second}"
    assert sorted(ids[1:]) == sorted([f"c-{first}", f"c-{third}"])  # no votes: a tie
