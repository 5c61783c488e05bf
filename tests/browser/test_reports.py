"""Reporting a comment in Chromium: illegal content needs a statement, then it is received."""

from __future__ import annotations

import json

from playwright.async_api import Page, expect

from service.core import keys
from tests.browser.conftest import Site
from tests.browser.test_widget import widget
from tests.helpers import seed_thread

ARTICLE = "reported-article"


async def test_report_illegal_content_with_a_statement(site: Site, page: Page) -> None:
    [comment] = seed_thread(site.conn, ARTICLE, 1)
    await page.goto(site.article_page("/report", ARTICLE))
    own = widget(page).locator(f"#c-{comment} > article")
    await own.locator("button.rep").click()
    await own.locator("select").select_option("illegal")
    await own.locator(".report button.act").click()  # no statement yet: refused, explained
    await expect(own.locator(".report .err")).to_have_text(
        "Say why this is illegal: a statement is required."
    )
    assert not site.conn.exists(keys.reports(comment))

    await own.locator("textarea").fill("It publishes a private person's home address.")
    await own.locator(".report button.act").click()
    await expect(own.locator(".notice")).to_have_text("Thank you. The moderators will look at it.")
    [stored] = site.conn.hvals(keys.reports(comment))
    report = json.loads(stored)
    assert report["reason"] == "illegal"
    assert report["statement"] == "It publishes a private person's home address."
