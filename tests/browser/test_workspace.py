"""The moderators' workspace in headless Chromium, used the way a moderator does: signed in by
the link a real SMTP server received, the queue worked by keyboard, a wave bulk-marked as
spam; and the same work without JavaScript. The console must stay free of errors."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
import redis
from playwright.async_api import Page, expect

from service.entry.embedded_redis import RedisServer
from tests.browser.axe import serious_violations
from tests.browser.conftest import ARTIFACTS, Console, Site, make_site, running
from tests.browser.test_widget import widget
from tests.helpers import ARTICLE, Recorder, drain, stored_comments

MODERATOR = "desk-8841@news.example.org"
TOKEN = "t" * 40


@pytest.fixture
async def desk(
    redis_server: RedisServer, rconn: redis.Redis, smtp: tuple[int, Recorder]
) -> AsyncIterator[Site]:
    site = make_site(
        redis_server,
        rconn,
        smtp_url=f"smtp://127.0.0.1:{smtp[0]}",
        moderator_emails=(MODERATOR,),
        moderator_tokens=(("scripted", TOKEN),),
        moderator_admins=("scripted",),
        notify="none",
    )
    async with running(site) as running_site:
        yield running_site


async def held_wave(site: Site, count: int) -> list[str]:
    ids = [await site.post(ARTICLE, comment=f"Comment {n} of the wave.") for n in range(count)]
    await drain(site.settings)
    assert all(stored_comments(site.conn)[i]["status"] == "held" for i in ids)
    return ids


async def test_sign_in_by_mail_then_work_the_queue_by_keyboard(
    desk: Site, quiet_page: Page, console: Console, smtp: tuple[int, Recorder]
) -> None:
    ids = await held_wave(desk, 6)
    page = quiet_page
    await page.goto(desk.api + "/moderation/")
    await page.get_by_label("Your moderator email address").fill(MODERATOR)
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await expect(page.locator("h1")).to_have_text("Check your email")
    await drain(desk.settings)
    [(rcpt, mail)] = smtp[1].messages
    assert rcpt == [MODERATOR]
    body = mail.get_body(("plain",))
    assert body is not None
    found = re.search(r"http://\S+/moderation/signin/\S+", body.get_content())
    assert found
    await page.goto(found.group(0))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("h1")).to_have_text("Pending review")
    await expect(page.get_by_role("link", name="Pending review (6)")).to_be_visible()

    items = page.locator("ol.items > li")
    current = page.locator("ol.items > li.current")
    await expect(current).to_have_attribute("data-id", ids[0])
    await page.keyboard.press("j")
    await page.keyboard.press("j")
    await expect(current).to_have_attribute("data-id", ids[2])
    await page.keyboard.press("k")
    await expect(current).to_have_attribute("data-id", ids[1])
    await page.keyboard.press("a")  # approve the current one: the page comes back without it
    await expect(page.get_by_role("status")).to_have_text("1 comment approved.")
    await expect(items).to_have_count(5)
    assert stored_comments(desk.conn)[ids[1]]["status"] == "approved"

    # Select three by keyboard and mouse, then mark them as spam at once.
    await page.keyboard.press("x")
    await page.keyboard.press("j")
    await page.keyboard.press("x")
    picked = f"Select the comment by Ada on {ARTICLE}: Comment 4 of the wave."
    await items.nth(3).get_by_role("checkbox", name=picked, exact=True).check()
    await page.get_by_role("button", name="Spam selected").click()
    await expect(page.get_by_role("status")).to_have_text("3 comments marked as spam.")
    await expect(page.get_by_role("link", name="Spam (3)")).to_be_visible()
    stored = stored_comments(desk.conn)
    assert [stored[i]["status"] for i in ids] == [
        "spam", "approved", "spam", "held", "spam", "held"
    ]  # fmt: skip

    # The last two: reject by keyboard; help opens and closes.
    await page.keyboard.press("?")
    await expect(page.get_by_role("dialog")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_be_hidden()
    await page.keyboard.press("r")
    await expect(page.get_by_role("status")).to_have_text("1 comment rejected.")
    assert stored_comments(desk.conn)[ids[3]]["status"] == "rejected"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "workspace-queue.png"), full_page=True)
    await page.emulate_media(color_scheme="dark")
    await page.screenshot(path=str(ARTIFACTS / "workspace-queue-dark.png"), full_page=True)
    await page.emulate_media(color_scheme="light")

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.locator("h1")).to_have_text("Sign in to moderate")
    await page.goto(desk.api + "/moderation/queue/held")
    await expect(page.locator("h1")).to_have_text("Sign in to moderate")
    console.allow_status(401)  # the queue's answer without a session


async def test_the_workspace_works_without_javascript(desk: Site, nojs_page: Page) -> None:
    ids = await held_wave(desk, 2)
    page = nojs_page
    await page.goto(desk.api + "/moderation/")
    await page.get_by_text("Sign in with a moderator token").click()
    await page.get_by_label("Token").fill(TOKEN)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.locator("h1")).to_have_text("Pending review")
    first = page.locator("ol.items > li").first
    await first.get_by_role("button", name="Approve").click()
    await expect(page.get_by_role("status")).to_have_text("1 comment approved.")
    await page.locator("ol.items > li").first.get_by_role("button", name="Spam").click()
    await expect(page.get_by_role("status")).to_have_text("1 comment marked as spam.")
    stored = stored_comments(desk.conn)
    assert [stored[i]["status"] for i in ids] == ["approved", "spam"]
    await page.get_by_role("link", name="Spam (1)").click()
    await page.locator("ol.items > li").first.get_by_role("button", name="Not spam").click()
    await expect(page.get_by_role("status")).to_have_text("1 comment restored.")
    assert stored_comments(desk.conn)[ids[1]]["status"] == "approved"


async def sign_in_by_token(site: Site, page: Page) -> None:
    await page.goto(site.api + "/moderation/")
    await page.get_by_text("Sign in with a moderator token").click()
    await page.get_by_label("Token").fill(TOKEN)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.locator("h1")).to_have_text("Pending review")


async def test_a_ban_that_rejects_existing_comments_clears_them_from_the_thread(
    desk: Site, page: Page
) -> None:
    troll = "troll-9901@example.org"
    gone = [
        await desk.published(ARTICLE, email=troll, comment=f"Troll remark {n}.") for n in (1, 2)
    ]
    kept = await desk.published(ARTICLE, email="reader-9902@example.org", comment="A fair point.")
    await page.goto(desk.article_page("/banned", ARTICLE))
    for cid in (*gone, kept):
        await expect(widget(page).locator(f"#c-{cid}")).to_be_visible()

    await sign_in_by_token(desk, page)
    await page.get_by_role("link", name="Approved (3)").click()
    await page.locator(f"#c-{gone[0]}").get_by_role("link", name="Commenter's page").click()
    await expect(page.locator("h1")).to_have_text("Commenter")
    await page.get_by_label("How long").select_option("forever")
    await page.get_by_label("Also reject their pending and published comments").check()
    await page.get_by_role("button", name="Ban this commenter").click()
    await expect(page.get_by_role("status")).to_have_text("Banned. 2 of their comments rejected.")
    await expect(page.locator("#banned")).to_contain_text("for good")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "workspace-commenter.png"), full_page=True)

    await page.goto(desk.article_page("/banned", ARTICLE))
    await expect(widget(page).locator(f"#c-{kept}")).to_be_visible()
    for cid in gone:
        await expect(widget(page).locator(f"#c-{cid}")).to_have_count(0)
    stored = stored_comments(desk.conn)
    assert [stored[i]["status"] for i in gone] == ["rejected", "rejected"]


async def test_closing_an_article_makes_the_widget_read_only(desk: Site, page: Page) -> None:
    said = await desk.published(ARTICLE, comment="Said while it was open.")
    await page.goto(desk.article_page("/closing", ARTICLE))
    comments = widget(page)
    await expect(comments.locator("form")).to_have_count(1)
    await expect(comments.get_by_role("button", name="Reply")).to_have_count(1)

    await sign_in_by_token(desk, page)
    await page.get_by_role("link", name="Approved (1)").click()
    await page.locator(f"#c-{said}").get_by_role("link", name="article settings").click()
    await expect(page.locator("h1")).to_have_text("Article")
    await page.get_by_label("Closed: the thread is read-only").check()
    await page.get_by_role("button", name="Save the article's settings").click()
    await expect(page.get_by_role("status")).to_have_text("Settings saved.")
    await expect(page.locator("#article-state")).to_have_text("closed")

    await page.goto(desk.article_page("/closing", ARTICLE))
    comments = widget(page)
    await expect(comments.locator(f"#c-{said}")).to_be_visible()
    await expect(comments.get_by_text("Comments on this article are closed.")).to_be_visible()
    await expect(comments.locator("form")).to_have_count(0)
    await expect(comments.get_by_role("button", name="Reply")).to_have_count(0)


async def test_a_featured_comment_shows_first_with_a_badge(desk: Site, page: Page) -> None:
    ids = [await desk.published(ARTICLE, comment=f"Published remark {n}.") for n in range(3)]
    await page.goto(desk.article_page("/featured", ARTICLE))
    top = widget(page).locator("ol.list > li.c")
    await expect(top.first).to_have_attribute("id", f"c-{ids[0]}")

    await sign_in_by_token(desk, page)
    await page.goto(f"{desk.api}/moderation/comment/{ids[2]}")
    await page.get_by_role("button", name="Feature this comment").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Featured: readers see it first, with a badge."
    )
    await page.get_by_label("Reply (published at once").fill("Thank you: we added a map.")
    await page.get_by_role("button", name="Publish the staff reply").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Your reply is published, marked as the staff's."
    )

    await page.goto(desk.article_page("/featured", ARTICLE))
    top = widget(page).locator("ol.list > li.c")
    await expect(top).to_have_count(3)
    await expect(top.first).to_have_attribute("id", f"c-{ids[2]}")
    await expect(top.first.locator(":scope > article .badge")).to_have_text("Featured")
    await expect(top.nth(1).locator(".badge")).to_have_count(0)
    reply = top.first.locator("li.c").first
    await expect(reply).to_contain_text("Thank you: we added a map.")
    await expect(reply.locator(".badge")).to_have_text("Staff")


async def test_an_admin_bans_a_website_domain_and_its_comments_are_refused(
    desk: Site, page: Page
) -> None:
    await sign_in_by_token(desk, page)
    await page.get_by_role("link", name="Bans").click()
    await expect(page.locator("h1")).to_have_text("Bans")
    entry = page.get_by_label("IP range or website domain")
    await entry.fill("203.0.113.7/24")
    await page.get_by_role("button", name="Ban", exact=True).click()
    await expect(page.get_by_role("alert")).to_contain_text("did you mean 203.0.113.0/24?")
    await expect(entry).to_have_attribute("aria-invalid", "true")
    await expect(entry).to_have_value("203.0.113.7/24")  # kept to correct
    assert await serious_violations(page) == []

    await entry.fill("https://shop.spam.example/offer")
    await page.get_by_label("How long").select_option("7d")
    await page.get_by_role("button", name="Ban", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text("Banned.")
    row = page.locator("#bans tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Domain shop.spam.example")
    await expect(row).not_to_contain_text("for good")
    assert await serious_violations(page) == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "workspace-bans.png"), full_page=True)

    async with aiohttp.ClientSession() as http:
        body = {"article": ARTICLE, "name": "Shop", "email": "shop-9911@example.org",
                "comment": "Great deals!", "website": "https://www.shop.spam.example/"}  # fmt: skip
        async with http.post(f"{desk.api}/api/v1/comments", json=body) as resp:
            assert resp.status == 403
            assert (await resp.json())["error"]["code"] == "commenter_banned"

    await page.get_by_role("button", name="Lift the ban on shop.spam.example").click()
    await expect(page.get_by_role("status")).to_have_text("Ban lifted.")
    await expect(page.get_by_text("No bans by IP range or domain.")).to_be_visible()
    await desk.post(ARTICLE, website="https://www.shop.spam.example/")


async def test_a_commenters_page_leads_to_their_comments_in_a_queue(desk: Site, page: Page) -> None:
    troll = "troll-9921@example.org"
    theirs = [await desk.post(ARTICLE, email=troll, comment=f"Their remark {n}.") for n in (1, 2)]
    other = await desk.post(ARTICLE, email="reader-9922@example.org", comment="Someone else.")
    await drain(desk.settings)
    await sign_in_by_token(desk, page)
    await expect(page.locator("ol.items > li")).to_have_count(3)
    await page.locator(f"#c-{theirs[0]}").get_by_role("link", name="Commenter's page").click()
    await expect(page.locator("h1")).to_have_text("Commenter")
    queues = page.get_by_role("navigation", name="Their comments in each queue")
    await queues.get_by_role("link", name="Pending review").click()
    await expect(page.locator("h1")).to_have_text("Pending review")
    items = page.locator("ol.items > li")
    await expect(items).to_have_count(2)
    assert [await item.get_attribute("data-id") for item in await items.all()] == theirs
    await expect(page.locator(f"#c-{other}")).to_have_count(0)
    await expect(page.get_by_label("Commenter")).not_to_have_value("")
    assert await serious_violations(page) == []
    # Clearing the filter lists everyone again.
    await page.get_by_label("Commenter").fill("")
    await page.get_by_role("button", name="Filter").click()
    await expect(items).to_have_count(3)
