"""Editing and deleting one's own comment in Chromium, with the edit token the widget kept."""

from __future__ import annotations

import time

from playwright.async_api import Page, expect

from service.core import keys
from tests.browser.conftest import Site
from tests.browser.test_widget import fill_form, widget
from tests.helpers import stored_comments

ARTICLE = "own-words"


async def post_own(site: Site, page: Page, text: str) -> str:
    """Post through the widget, approve it as a moderator, reload: the reader's published
    comment, with the edit token still in this browser."""
    await page.goto(site.article_page("/own", ARTICLE))
    w = widget(page)
    await fill_form(page, comment=text)
    await w.locator("button.submit").click()
    await expect(w.locator("li.pending")).to_have_count(1)
    [comment_id] = [i for i, r in stored_comments(site.conn).items() if r["comment"] == text]
    await site.decide(comment_id)
    await page.reload()
    await expect(w.locator(f"#c-{comment_id} > article .text")).to_have_text(text)
    return comment_id


async def test_edit_within_the_window_then_refused_after_it(site: Site, page: Page) -> None:
    comment_id = await post_own(site, page, "Teh station is a good idea.")
    w = widget(page)
    own = w.locator(f"#c-{comment_id} > article")
    await own.locator("button.act", has_text="Edit").click()
    await own.locator("textarea").fill("The station is a good idea.")
    await own.locator("button.act", has_text="Save").click()
    await expect(own.locator(".text")).to_have_text("The station is a good idea.")
    await expect(own.locator(".notice")).to_have_text("Your comment is awaiting moderation.")
    record = stored_comments(site.conn)[comment_id]
    assert (record["status"], record["comment"]) == ("pending", "The station is a good idea.")

    await page.reload()  # still the reader's own, awaiting moderation
    await expect(w.locator(f"#c-{comment_id}.pending .text")).to_have_text(
        "The station is a good idea."
    )
    await site.decide(comment_id)
    await page.reload()
    await expect(own.locator(".meta")).to_contain_text("edited")

    # Past the window (the comment is 16 minutes old now): the service refuses, clearly.
    site.conn.hset(keys.comment(comment_id), "created_at", f"{time.time() - 960:.6f}")
    await own.locator("button.act", has_text="Edit").click()
    await own.locator("textarea").fill("A late change.")
    await own.locator("button.act", has_text="Save").click()
    await expect(own.locator(".notice")).to_have_text(
        "The time to edit or delete this comment has passed."
    )
    await expect(own.locator("button.act", has_text="Delete")).to_have_count(0)
    assert stored_comments(site.conn)[comment_id]["comment"] == "The station is a good idea."


async def test_delete_asks_once_more_then_deletes(site: Site, page: Page) -> None:
    comment_id = await post_own(site, page, "I will take this back.")
    w = widget(page)
    delete = w.locator(f"#c-{comment_id} > article button.act", has_text="Delete")
    await delete.click()
    await expect(delete).to_have_text("Really delete?")
    assert comment_id in stored_comments(site.conn)
    await delete.click()
    await expect(w.locator(f"#c-{comment_id}")).to_have_count(0)
    assert comment_id not in stored_comments(site.conn)
    await page.reload()
    await expect(w.locator("h2")).to_have_text("0 comments")
    await expect(w.locator(f"#c-{comment_id}")).to_have_count(0)
