"""The service's own pages with a form, in headless Chromium, used the way a person does.

Each page is opened from the link an email carries (or reached by a plain form post), its
button is pressed, and the outcome is checked on the page and in Redis. HTTP clients set
whatever Origin they like; only a real browser shows what a page's headers make it send.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Page, expect

from service.core import keys, links
from service.core.signing import Signer
from service.store import privacy_data
from tests.browser.conftest import Console, Site
from tests.helpers import ARTICLE, SECRET, drain, email_hash, key_dump, stored_comments

ADDRESS = "ada@example.org"  # what Site.post sends


async def held(site: Site, comment: str) -> str:
    """A first-time commenter's comment, decided by the real job code: held for a moderator."""
    comment_id = await site.post(ARTICLE, comment=comment)
    await drain(site.settings)
    assert stored_comments(site.conn)[comment_id]["status"] == "held"
    return comment_id


def moderation_link(site: Site, comment_id: str, action: str) -> str:
    return links.moderation_url(Signer(SECRET), site.settings, comment_id, action, time.time())


async def public_thread(site: Site) -> list[str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{site.api}/api/v1/comments", params={"article": ARTICLE}) as resp,
    ):
        return [c["id"] for c in (await resp.json())["comments"]]


async def test_moderation_link_approves_in_the_browser(site: Site, quiet_page: Page) -> None:
    comment_id = await held(site, "Approve me, please.")
    await quiet_page.goto(moderation_link(site, comment_id, "approve"))
    await expect(quiet_page.locator("h1")).to_have_text("Approve this comment?")
    await quiet_page.get_by_role("button", name="Approve").click()
    await expect(quiet_page.locator("h1")).to_have_text("Done: approve")
    assert stored_comments(site.conn)[comment_id]["status"] == "approved"
    assert await public_thread(site) == [comment_id]
    # The demo article's thread shows it to readers.
    await quiet_page.goto(site.api + "/")
    await expect(quiet_page.locator("#comments .root .text")).to_have_text("Approve me, please.")


@pytest.mark.parametrize(
    ("action", "button", "done", "status"),
    [
        ("spam", "Mark as spam", "Done: mark as spam", "spam"),
        ("reject", "Reject", "Done: reject", "rejected"),
    ],
)
async def test_moderation_link_refuses_in_the_browser(
    site: Site, quiet_page: Page, action: str, button: str, done: str, status: str
) -> None:
    comment_id = await held(site, "Buy cheap watches.")
    await quiet_page.goto(moderation_link(site, comment_id, action))
    await quiet_page.get_by_role("button", name=button).click()
    await expect(quiet_page.locator("h1")).to_have_text(done)
    assert stored_comments(site.conn)[comment_id]["status"] == status
    assert await public_thread(site) == []


async def test_another_site_cannot_act_even_with_the_csrf_value(
    site: Site, quiet_page: Page, console: Console
) -> None:
    """The page's own form works; the same form on another site, CSRF value and all, does not."""
    comment_id = await held(site, "Leave me held.")
    url = moderation_link(site, comment_id, "approve")
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        found = re.search(r'name="csrf" value="([^"]+)"', await resp.text())
    assert found
    site.pages["/lure"] = (
        '<!doctype html><html><head><link rel="icon" href="data:,"></head><body>'
        f'<form method="post" action="{url}"><input type="hidden" name="csrf" '
        f'value="{found.group(1)}"><button>Win a prize</button></form></body></html>'
    )
    await quiet_page.goto(site.origin + "/lure")
    await quiet_page.get_by_role("button", name="Win a prize").click()
    await expect(quiet_page.locator("h1")).to_have_text("Not allowed")
    console.allow_status(403)
    assert stored_comments(site.conn)[comment_id]["status"] == "held"


async def test_privacy_page_downloads_then_erases(site: Site, quiet_page: Page) -> None:
    first = await site.published(ARTICLE, comment="My first words.")
    second = await site.post(ARTICLE, comment="My second words.")
    commenter = email_hash(ADDRESS)
    request_id = privacy_data.open_request(site.conn, site.settings, commenter)
    url = links.privacy_url(Signer(SECRET), site.settings, request_id, time.time())
    await quiet_page.goto(url)
    await expect(quiet_page.locator("p").first).to_have_text(
        "2 comments are stored for your address."
    )

    async with quiet_page.expect_download() as started:
        await quiet_page.get_by_role("button", name="Download my comments (JSON)").click()
    download = await started.value
    assert download.suggested_filename == "my-comments.json"
    text = await asyncio.to_thread(Path(await download.path()).read_text, "utf-8")
    exported = json.loads(text)["comments"]
    assert sorted(c["id"] for c in exported) == sorted([first, second])
    assert ADDRESS not in text
    assert commenter not in text

    await quiet_page.get_by_role("button", name="Erase my comments").click()
    await expect(quiet_page.locator("h1")).to_have_text("Erased")
    records = stored_comments(site.conn)
    assert {records[cid]["name"] for cid in (first, second)} == {privacy_data.ANONYMOUS}
    assert not any("email_sealed" in r or "email_hash" in r for r in records.values())
    assert commenter.encode() not in key_dump(site.conn)


async def test_unsubscribe_page_stops_reply_emails(site: Site, quiet_page: Page) -> None:
    comment_id = await site.published(ARTICLE, comment="Tell me about replies.")
    url = links.unsubscribe_url(Signer(SECRET), site.settings, comment_id, time.time())
    await quiet_page.goto(url)
    await quiet_page.get_by_role("button", name="Stop reply notifications").click()
    await expect(quiet_page.locator("h1")).to_have_text("Unsubscribed")
    reputation = keys.email_reputation(email_hash(ADDRESS))
    assert site.conn.hget(reputation, "unsubscribed") == b"1"


async def test_confirmation_page_confirms_a_held_comment(site: Site, quiet_page: Page) -> None:
    comment_id = await held(site, "Yes, that was me.")
    url = links.confirm_url(Signer(SECRET), site.settings, comment_id, time.time())
    await quiet_page.goto(url)
    await quiet_page.get_by_role("button", name="Yes, I wrote this").click()
    await expect(quiet_page.locator("h1")).to_have_text("Thank you")
    record = stored_comments(site.conn)[comment_id]
    assert record["status"] == "pending"  # back to the workers, scored as the known commenter
    assert "confirmed_at" in record


def news_form_page(site: Site, path: str) -> str:
    """A news site's article with the plain no-JS form posting to the service; its URL."""
    site.pages[path] = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>News</title>'
        '<link rel="icon" href="data:,"></head>'
        f'<body><form class="reply" method="post" action="{site.api}/api/v1/comments">'
        f'<input type="hidden" name="article" value="{ARTICLE}">'
        f'<input type="hidden" name="article_url" value="{site.origin}{path}">'
        '<textarea name="comment"></textarea><input name="name"><input name="email">'
        "<button>Post Comment</button></form></body></html>"
    )
    return site.origin + path


# The error page's CSP also governs where its form post may be redirected: it must allow the
# article's origin, or Chromium blocks the 303 back to a news site on another origin.
@pytest.mark.parametrize("where", ["demo page", "news site"])
async def test_no_javascript_error_page_posts_again(
    site: Site, nojs_page: Page, console: Console, where: str
) -> None:
    article = site.api + "/" if where == "demo page" else news_form_page(site, "/story")
    await nojs_page.goto(article)
    form = nojs_page.locator("form.reply")
    await form.locator("[name=comment]").fill("Second try works.")
    await form.locator("[name=name]").fill("Lin")
    await form.locator("[name=email]").fill("lin@example.invalid")  # refused by the service
    await form.locator("button").click()
    await expect(nojs_page.locator("#email-error")).to_have_text("Enter a valid email address.")
    console.allow_status(422)  # the error page's own status; nothing else may be logged

    await nojs_page.locator("[name=email]").fill("lin@example.org")
    await nojs_page.get_by_role("button", name="Post Comment").click()
    await nojs_page.wait_for_url(article + "#comment-pending")
    [record] = stored_comments(site.conn).values()
    assert (record["comment"], record["name"], record["article"]) == (
        "Second try works.",
        "Lin",
        ARTICLE,
    )
