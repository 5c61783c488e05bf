"""The accessibility audit: axe-core in headless Chromium on every page the service renders for
people, in the light and the dark colour scheme, with no serious or critical violation and no
console error.

The workspace's pages come from the app's router (every GET route under /moderation/), so a
page added later is audited without a change here; each is seen with content in it (every
queue holds a comment, a reported one with a statement of illegal content, an edited one,
a note, a ban) and with its form errors shown. The widget inside the demo article is audited
by its own tests; here the article's own markup is, with and without the widget.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import aiohttp
import pytest
import redis
from playwright.async_api import Page, Route, expect

from service.core import keys, links
from service.core.moderators import Identity
from service.core.signing import Signer
from service.entry.embedded_redis import RedisServer
from service.store import moderation, privacy_data, queues, sessions
from service.web.app import create_app
from tests.browser.axe import serious_violations
from tests.browser.conftest import Console, Site, make_site, running
from tests.browser.test_pages import news_form_page
from tests.helpers import ARTICLE, SECRET, drain, email_hash, filled_paths, route_paths

ADMIN_TOKEN = "z" * 40
TROLL = "troll-4410@example.org"
# Reached without a session: the rest of the workspace answers them with the sign-in page.
SIGNED_OUT = ("/moderation/signin/{token}", "/moderation/")
SCHEMES: tuple[Literal["light", "dark"], ...] = ("light", "dark")


@dataclass
class Audit:
    """Runs axe on the tab as it is now, in both schemes, and keeps what it finds."""

    page: Page
    console: Console
    found: list[str] = field(default_factory=list)

    async def visit(self, url: str, status: int = 200, exclude: Sequence[str] = ()) -> bool:
        """Open `url` and audit it; False (not audited) if it is no page (a script)."""
        response = await self.page.goto(url)
        assert response is not None
        assert response.status == status, (url, response.status)
        if not (await response.header_value("content-type") or "").startswith("text/html"):
            return False
        await self.check(status, exclude)
        return True

    async def check(self, status: int = 200, exclude: Sequence[str] = ()) -> None:
        where = self.page.url
        context = {"exclude": [[selector] for selector in exclude]} if exclude else None
        for scheme in SCHEMES:
            await self.page.emulate_media(color_scheme=scheme)
            found = await serious_violations(self.page, context)
            if not exclude:  # focus may land in an excluded element, not ours to judge
                found += await self.focus_problems()
            self.found += [f"{where} ({scheme}): {line}" for line in found]
        await self.page.emulate_media(color_scheme="light")
        if status != 200:
            self.console.allow_status(status)  # the page's own answer, logged by Chromium

    async def focus_problems(self) -> list[str]:
        """axe does not look at focus: the keyboard's next stop must show a clear outline."""
        await self.page.keyboard.press("Tab")
        focused = await self.page.evaluate(FOCUSED)
        if focused is None or (focused["width"] >= 2 and focused["style"] != "none"):
            return []  # nothing to focus (a dialog without controls), or clearly shown
        return [f"focus: no visible outline on {focused['tag']} ({focused})"]


# The focused element and its outline, as the page's CSS draws it.
FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  return {tag: e.tagName, style: s.outlineStyle, width: parseFloat(s.outlineWidth)};
}"""


@pytest.fixture
async def desk(redis_server: RedisServer, rconn: redis.Redis) -> AsyncIterator[Site]:
    site = make_site(
        redis_server,
        rconn,
        moderator_tokens=(("chief", ADMIN_TOKEN),),
        moderator_admins=("chief",),
        reports_flag=1,
        notify="none",
    )
    async with running(site) as running_site:
        yield running_site


@dataclass
class Seeded:
    held: str
    published: str
    reported: str


async def seed(site: Site) -> Seeded:
    """A comment in every queue, replies, a report of illegal content, an edited text."""
    parent = await site.published(ARTICLE, comment="The station needs a crew all year.",
                                  website="https://blog.example.net")  # fmt: skip
    reported = await site.published(ARTICLE, email=TROLL, comment="Something unlawful.")
    ids = [await site.post(ARTICLE, comment=f"Held remark {n}.", parent_id=parent)
           for n in range(4)]  # fmt: skip
    await drain(site.settings)
    for cid, action in zip(ids[1:], ("spam", "reject", "approve"), strict=True):
        await site.decide(cid, action)
    moderation.edit_text(site.conn, parent, "The station needs a crew, all year.", "chief")
    async with aiohttp.ClientSession() as http:
        report = {"reader": "e" * 32, "reason": "illegal", "statement": "It names a witness."}
        async with http.post(f"{site.api}/api/v1/comments/{reported}/reports", json=report) as r:
            assert r.status in (200, 201, 202), await r.text()
    return Seeded(held=ids[0], published=parent, reported=reported)


def signin_link(site: Site) -> str:
    request_id = sessions.open_signin(site.conn, site.settings, Identity("chief", "admin"), 900,
                                      None)  # fmt: skip
    return links.signin_url(Signer(SECRET), site.settings, request_id, time.time(), 900)


async def test_every_workspace_page_passes_the_audit(
    desk: Site, quiet_page: Page, console: Console
) -> None:
    seeded = await seed(desk)
    page, audit = quiet_page, Audit(quiet_page, console)
    pages = route_paths(create_app(desk.settings), "GET", "/moderation/")
    samples = {"token": [signin_link(desk).rsplit("/", 1)[1]]}

    # Signed out: a mailed link's page, the sign-in page, a wrong token's answer.
    for template in SIGNED_OUT:
        [path] = filled_paths(template, samples)
        assert await audit.visit(desk.api + path)
    await page.get_by_label("Token").fill("wrong" * 8)  # open: no sign-in by mail here
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("alert")).to_have_text("That token is not a moderator's.")
    await audit.check(401)
    await page.get_by_label("Token").fill(ADMIN_TOKEN)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.locator("h1")).to_have_text("Pending review")

    # Signed in: every other page, each queue, comment and commenter it has.
    listed = await (await page.request.get(desk.api + "/moderation/queue/all")).text()
    commenter_ids = sorted(set(re.findall(r"/moderation/commenter/([0-9a-f]{20})", listed)))
    assert len(commenter_ids) == 2
    samples |= {
        "folder": sorted(queues.FOLDERS),
        "comment_id": [seeded.held, seeded.published, seeded.reported],
        "commenter_id": commenter_ids,
        "unknown": ["no-such-page"],  # the catch-all: a page the workspace does not have
    }
    queries = {"/moderation/article": f"?article={ARTICLE}"}
    audited = set()
    for template in pages:
        for path in filled_paths(template, samples) if template not in SIGNED_OUT else []:
            status = 404 if template == "/moderation/{unknown}" else 200
            if await audit.visit(desk.api + path + queries.get(template, ""), status):
                audited.add(template)
    assert audited == set(pages) - {*SIGNED_OUT, "/moderation/workspace.js"}
    # What a moderator's browser gets for something missing, or a page without its article.
    missing = {
        f"/moderation/comment/{keys.new_comment_id(ARTICLE)}": 404,
        f"/moderation/commenter/{'0' * 20}": 404,
        "/moderation/queue/elsewhere": 404,
        "/moderation/article": 422,
    }
    for path, status in missing.items():
        assert await audit.visit(desk.api + path, status=status)

    # The states a page is in after a form: a notice, a form's error next to its field.
    await page.goto(f"{desk.api}/moderation/queue/held")
    await page.locator("ol.items > li").first.get_by_role("button", name="Approve").click()
    await expect(page.get_by_role("status")).to_have_text("1 comment approved.")
    await audit.check()
    await page.keyboard.press("?")
    await expect(page.get_by_role("dialog")).to_be_visible()
    await audit.check()
    await page.goto(f"{desk.api}/moderation/comment/{seeded.published}")
    await page.get_by_label("Text (the commenter's original is kept)").fill(" ")
    await page.get_by_role("button", name="Save the text").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await audit.check(422)
    await page.goto(f"{desk.api}/moderation/commenter/{commenter_ids[0]}")
    await page.get_by_role("button", name="Save the note").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await audit.check(422)
    await page.get_by_label("Add a note").fill("Third warning this week.")
    await page.get_by_role("button", name="Save the note").click()
    await expect(page.get_by_role("status")).to_have_text("Note saved.")
    await page.get_by_label("How long").select_option("forever")
    await page.get_by_role("button", name="Ban this commenter").click()
    await expect(page.get_by_role("status")).to_contain_text("Banned.")
    await audit.check()

    assert audit.found == [], "\n".join(audit.found)


async def route_without_widget(route: Route) -> None:
    await route.fulfill(status=200, content_type="text/javascript", body="")


async def test_the_service_pages_for_readers_pass_the_audit(
    site: Site, quiet_page: Page, console: Console
) -> None:
    page, audit = quiet_page, Audit(quiet_page, console)
    signer = Signer(SECRET)
    published = await site.published(ARTICLE, comment="A published comment.")
    held = await site.post(ARTICLE, comment="A held comment, from a new browser.")
    await drain(site.settings)

    # The one-click moderation pages: confirm, done, then the spent link.
    link = links.moderation_url(signer, site.settings, held, "approve", time.time())
    await audit.visit(link)
    await page.get_by_role("button", name="Approve").click()
    await expect(page.locator("h1")).to_have_text("Done: approve")
    await audit.check()
    await audit.visit(link, status=409)
    # A commenter confirming a comment from a new browser; stopping reply notifications.
    second = await site.post(ARTICLE, comment="Another held comment.")
    await drain(site.settings)
    await audit.visit(links.confirm_url(signer, site.settings, second, time.time()))
    await page.get_by_role("button", name="Yes, I wrote this").click()
    await expect(page.locator("h1")).to_have_text("Thank you")
    await audit.check()
    await audit.visit(links.unsubscribe_url(signer, site.settings, published, time.time()))
    await page.get_by_role("button", name="Stop reply notifications").click()
    await expect(page.locator("h1")).to_have_text("Unsubscribed")
    await audit.check()

    # "Your comments and data": the request page, its error, its answer, the mailed page.
    await audit.visit(site.api + "/privacy")
    await page.get_by_label("Your email address").fill("lin@example.invalid")
    await page.get_by_role("button", name="Send me the link").click()
    await expect(page.locator("#email-error")).to_be_visible()
    await audit.check(422)
    await page.get_by_label("Your email address").fill("ada@example.org")
    await page.get_by_role("button", name="Send me the link").click()
    await expect(page.locator("h1")).to_have_text("Check your inbox")
    await audit.check()
    request_id = privacy_data.open_request(site.conn, site.settings, email_hash("ada@example.org"))
    await audit.visit(links.privacy_url(signer, site.settings, request_id, time.time()))

    # The no-JavaScript form's error page, reached from a news site's plain form.
    await page.goto(news_form_page(site, "/story"))
    form = page.locator("form.reply")
    await form.locator("[name=comment]").fill("A try.")
    await form.locator("[name=email]").fill("lin@example.invalid")
    await form.locator("button").click()
    await expect(page.locator("#email-error")).to_be_visible()
    await audit.check(422)

    # The demo article: its own markup as readers without the widget get it (the thread and
    # the plain form), then with the widget, whose element its own audit covers.
    await page.route("**/embed.js", route_without_widget)
    await audit.visit(site.api + "/")
    await expect(page.locator("#comments .comment").first).to_be_visible()
    await page.unroute("**/embed.js")
    await audit.visit(site.api + "/", exclude=["#comments"])

    assert audit.found == [], "\n".join(audit.found)
