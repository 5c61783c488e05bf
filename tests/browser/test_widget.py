"""The widget in headless Chromium, embedded in a news page on another origin than the API."""

from __future__ import annotations

import asyncio

import aiohttp
import redis
from playwright.async_api import Browser, Locator, Page, expect

from service.core.sealing import EmailVault
from service.entry.embedded_redis import RedisServer
from service.store import commenters
from tests.browser.conftest import ARTIFACTS, Site, make_site, running
from tests.helpers import SECRET, email_hash, stored_comments

ARTICLE = "moon-base"


def widget(page: Page, target: str = "comments") -> Locator:
    """The widget's own tree (Playwright's CSS pierces the open shadow root)."""
    return page.locator(f"#{target} .root")


async def fill_form(page: Page, **values: str) -> None:
    w = widget(page)
    fields = {"comment": "A fine article.", "name": "Grace", "email": "grace@example.org"}
    for name, value in (fields | values).items():
        await w.locator(f"form [name={name}]").fill(value)


async def test_thread_renders_threaded_with_links_and_times(site: Site, page: Page) -> None:
    first = await site.published(
        ARTICLE, name="Ada", website="https://ada.example/", comment="First"
    )
    await site.published(ARTICLE, name="Bob", comment="Second")
    await site.published(ARTICLE, name="Cy", comment="A reply", parent_id=first)
    await page.goto(site.article_page("/news/moon", ARTICLE))
    w = widget(page)
    await expect(w.locator("h2")).to_have_text("3 comments")
    top = w.locator("ol.list > li.c")
    await expect(top).to_have_count(2)
    reply = w.locator(f"#c-{first} > ol.replies > li.c")
    await expect(reply.locator(".text")).to_have_text("A reply")
    author = w.locator(f"#c-{first} > article a.author")
    await expect(author).to_have_attribute("href", "https://ada.example/")
    await expect(author).to_have_attribute("rel", "nofollow ugc noopener")
    time = w.locator(f"#c-{first} > article time")
    await expect(time).to_have_text("now")
    assert "20" in (await time.get_attribute("title") or "")  # the exact date on hover
    # The page's hostile stylesheet reaches neither the text colour nor the layout inside.
    color = await w.locator(".text").first.evaluate("e => getComputedStyle(e).color")
    assert color != "rgb(255, 0, 0)"
    await expect(w.locator("button.submit")).to_be_visible()
    # Indentation stops at the configured depth; deeper replies line up under the last level.
    indent = "e => getComputedStyle(e).marginLeft"
    assert await w.locator("ol.replies").evaluate(indent) != "0px"
    await page.goto(site.article_page("/flat", ARTICLE, attrs='data-max-depth="1"'))
    await expect(reply.locator(".text")).to_have_text("A reply")
    assert await w.locator("ol.replies").evaluate(indent) == "0px"


async def test_posting_shows_pending_until_approved_or_gone(site: Site, page: Page) -> None:
    url = site.article_page("/news/moon", ARTICLE)
    await page.goto(url)
    w = widget(page)
    await expect(w.locator("h2")).to_have_text("0 comments")
    await fill_form(page, comment="Waiting for a moderator.")
    await w.locator("button.submit").click()
    await expect(w.locator("form .status")).to_have_text(
        "Thank you. Your comment is awaiting moderation."
    )
    pending = w.locator("li.pending")
    await expect(pending.locator(".notice")).to_have_text("Your comment is awaiting moderation.")
    await expect(w.locator("form textarea")).to_have_value("")
    [(comment_id, record)] = stored_comments(site.conn).items()
    assert record["comment"] == "Waiting for a moderator."
    assert record["article_url"] == url
    assert record["token_verdict"] == "valid"  # the widget sent the form token it fetched
    # The browser keeps the pending comment, but never the address.
    saved = await page.evaluate("localStorage.getItem('comments.pending')")
    assert comment_id in saved
    assert "grace@example.org" not in saved

    await page.reload()
    await expect(w.locator(f"#c-{comment_id}.pending")).to_be_visible()

    await site.decide(comment_id, "approve")
    await page.reload()
    await expect(w.locator("h2")).to_have_text("1 comment")
    await expect(w.locator(f"#c-{comment_id}")).not_to_have_class("c pending")
    await expect(w.locator(".notice")).to_have_count(0)
    assert await page.evaluate("localStorage.getItem('comments.pending')") is None

    await fill_form(page, comment="This one gets rejected.")
    await w.locator("button.submit").click()
    await expect(w.locator("li.pending")).to_have_count(1)
    rejected = next(i for i, r in stored_comments(site.conn).items() if r["status"] == "pending")
    await site.decide(rejected, "reject")
    await page.reload()
    await expect(w.locator("h2")).to_have_text("1 comment")
    await expect(w.locator(f"#c-{rejected}")).to_have_count(0)
    assert await page.evaluate("localStorage.getItem('comments.pending')") is None


async def test_client_and_server_errors_appear_by_their_fields(site: Site, page: Page) -> None:
    await page.goto(site.article_page("/news/moon", ARTICLE))
    w = widget(page)
    await w.locator("button.submit").click()
    await expect(w.locator("#comment-error")).to_have_text("Comment is required.")
    await expect(w.locator("#name-error")).to_have_text("Name is required.")
    await expect(w.locator("#email-error")).to_have_text("Email is required.")
    await expect(w.locator("textarea")).to_have_attribute("aria-invalid", "true")
    await expect(w.locator("textarea")).to_be_focused()
    # The server words the same refusal the same way.
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{site.api}/api/v1/comments", json={"article": ARTICLE}) as resp,
    ):
        fields = (await resp.json())["error"]["fields"]
    for name in ("comment", "name", "email"):
        shown = await w.locator(f"#{name}-error").text_content()
        assert fields[name]["message"] == shown

    # Passes the browser's check, fails the server's: the 422 lands by its field.
    await fill_form(page, email="someone@example.invalid", website="https://ok.example/")
    await w.locator("button.submit").click()
    await expect(w.locator("#email-error")).to_have_text("Enter a valid email address.")
    await expect(w.locator("#comment-error")).to_have_text("")
    await expect(w.locator("[name=email]")).to_have_attribute("aria-invalid", "true")
    await expect(w.locator("form textarea")).to_have_value("A fine article.")
    assert stored_comments(site.conn) == {}


async def test_rate_limit_and_outage_keep_the_text(
    redis_server: RedisServer, rconn: redis.Redis, page: Page
) -> None:
    limited = make_site(redis_server, rconn, limit_ip=(1, 60))
    async with running(limited) as site:
        await page.goto(site.article_page("/news/moon", ARTICLE))
        w = widget(page)
        await fill_form(page)
        await w.locator("button.submit").click()
        await expect(w.locator("li.pending")).to_have_count(1)
        await fill_form(page, comment="One more thought.")
        await w.locator("button.submit").click()
        await expect(w.locator("form .status")).to_contain_text("try again in")
        await expect(w.locator("form textarea")).to_have_value("One more thought.")
    # The service is gone now: a network error, the text still there.
    await w.locator("button.submit").click()
    await expect(w.locator("form .status")).to_have_text(
        "The comment service could not be reached. Please try again; your text is kept."
    )
    await expect(w.locator("form textarea")).to_have_value("One more thought.")


async def test_a_site_not_allowed_is_refused(site: Site, browser: Browser) -> None:
    await site.published(ARTICLE, comment="Only for the allowed site.")
    site.article_page("/news/moon", ARTICLE)
    # The same page served from an origin outside COMMENTS_ALLOWED_ORIGINS.
    other = site.origin.replace("localhost", "127.0.0.1")
    ctx = await browser.new_context()
    page = await ctx.new_page()
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if "/api/v1/" in r.url else None)
    await page.goto(other + "/news/moon")
    w = widget(page)
    await expect(w.locator(".status")).to_have_text(
        "This site is not allowed to show comments from this service."
    )
    await expect(w.locator(".c")).to_have_count(0)
    await expect(w.locator("form")).to_have_count(0)
    assert statuses == [403]
    await ctx.close()


async def test_html_in_every_field_stays_inert_text(site: Site, page: Page) -> None:
    name = '<img src=x onerror="window.__xss=1">Mallory'
    website = 'https://evil.example/"><script>window.__xss=2</script>'
    text = "<script>window.__xss=3</script>\n<b>bold?</b> see https://ok.example/a?b=<i>"
    comment_id = await site.published(ARTICLE, name=name, website=website, comment=text)
    await page.goto(site.article_page("/news/moon", ARTICLE))
    w = widget(page)
    await expect(w.locator(".author")).to_have_text(name)
    await expect(w.locator(".author")).to_have_attribute("href", website)
    await expect(w.locator(".text")).to_contain_text("<script>window.__xss=3</script>")
    assert await w.locator(f"#c-{comment_id} img, #c-{comment_id} script, b, i").count() == 0
    links = w.locator(".text a")
    await expect(links).to_have_attribute("href", "https://ok.example/a?b=")
    assert await page.evaluate("window.__xss") is None


async def test_save_my_details_round_trips(site: Site, page: Page) -> None:
    url = site.article_page("/news/moon", ARTICLE)
    await page.goto(url)
    w = widget(page)
    await fill_form(page, website="https://grace.example/")
    await w.locator("#save").check()
    await w.locator("button.submit").click()
    await expect(w.locator("li.pending")).to_have_count(1)
    await expect(w.locator("[name=name]")).to_have_value("Grace")  # kept for the next one
    await page.reload()
    await expect(w.locator("[name=name]")).to_have_value("Grace")
    await expect(w.locator("[name=email]")).to_have_value("grace@example.org")
    await expect(w.locator("[name=website]")).to_have_value("https://grace.example/")
    await expect(w.locator("#save")).to_be_checked()

    await w.locator("#save").uncheck()
    await w.locator("textarea").fill("And forget me.")
    await w.locator("button.submit").click()
    await expect(w.locator("li.pending")).to_have_count(2)
    await expect(w.locator("[name=name]")).to_have_value("")
    assert await page.evaluate("localStorage.getItem('comments.author')") is None
    await page.reload()
    await expect(w.locator("[name=email]")).to_have_value("")


async def test_reply_form_opens_under_the_comment(site: Site, page: Page) -> None:
    parent = await site.published(ARTICLE, name="Ada", comment="Top")
    await page.goto(site.article_page("/news/moon", ARTICLE))
    w = widget(page)
    await w.locator(f"#c-{parent} button.link").click()
    await expect(w.locator(f"#c-{parent} > form")).to_be_visible()
    await expect(w.locator("#reply-title")).to_have_text("Reply to Ada")
    await expect(w.locator("textarea")).to_be_focused()
    await w.locator("button", has_text="Cancel reply").click()
    await expect(w.locator(f"#c-{parent} > form")).to_have_count(0)
    await expect(w.locator("#reply-title")).to_have_text("Leave a Reply")

    await w.locator(f"#c-{parent} button.link").click()
    await fill_form(page, comment="I agree.")
    await w.locator("button.submit").click()
    await expect(w.locator(f"#c-{parent} > ol.replies > li.pending")).to_have_count(1)
    reply = next(r for r in stored_comments(site.conn).values() if r["comment"] == "I agree.")
    assert reply["parent_id"] == parent


async def test_keyboard_alone_posts_a_comment(site: Site, page: Page) -> None:
    await page.goto(site.article_page("/news/moon", ARTICLE))
    w = widget(page)
    await expect(w.locator("h2")).to_have_text("0 comments")
    active = "() => document.activeElement.shadowRoot?.activeElement?.id ?? null"
    for _ in range(10):
        await page.keyboard.press("Tab")
        if await page.evaluate(active) == "comment":
            break
    assert await page.evaluate(active) == "comment"
    outline = "() => getComputedStyle(document.activeElement.shadowRoot.activeElement).outlineStyle"
    assert await page.evaluate(outline) == "solid"  # focus is visible
    await page.keyboard.type("Typed without a mouse.")
    for value in ("Kay", "kay@example.org"):
        await page.keyboard.press("Tab")
        await page.keyboard.type(value)
    while await page.evaluate(active) != "":  # past website and the two boxes, to the button
        await page.keyboard.press("Tab")
    tag = "() => document.activeElement.shadowRoot.activeElement.textContent"
    assert await page.evaluate(tag) == "Post Comment"
    await page.keyboard.press("Enter")
    await expect(w.locator("li.pending .text")).to_have_text("Typed without a mouse.")


async def test_counts_and_two_widgets_on_one_page(site: Site, page: Page) -> None:
    for _ in range(2):
        await site.published("first")
    await site.published("second")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/v1/counts" in r.url else None)
    site.pages["/list"] = (
        '<!doctype html><html lang="de"><head><meta charset="utf-8"><title>List</title></head>'
        '<body><a href="/first" data-count="first">Comments</a>'
        '<a href="/second" data-count="second">Comments</a>'
        '<a href="/third" data-count="third">Comments</a>'
        '<div id="one"></div><div id="two"></div>'
        f'<script src="{site.api}/embed.js" data-article="first" data-target="one" async></script>'
        f'<script src="{site.api}/embed.js" data-article="second" data-target="two" async>'
        "</script></body></html>"
    )
    await page.goto(site.origin + "/list")
    await expect(page.locator("a[data-count=first]")).to_have_text("2 Kommentare")
    await expect(page.locator("a[data-count=second]")).to_have_text("1 Kommentar")
    await expect(page.locator("a[data-count=third]")).to_have_text("0 Kommentare")
    assert len(requests) == 1
    await expect(widget(page, "one").locator("h2")).to_have_text("2 Kommentare")
    await expect(widget(page, "two").locator("h2")).to_have_text("1 Kommentar")
    await expect(widget(page, "two").locator("#reply-title")).to_have_text(
        "Schreibe einen Kommentar"
    )


CONTRAST = """root => {
  const rgb = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = c => { const [r, g, b] = rgb(c).map(v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05); };
  const bg = getComputedStyle(root).backgroundColor;
  const out = {};
  for (const sel of ['.text', '.meta', 'a.author', '.note', 'label', '.err', 'button.link']) {
    const el = root.querySelector(sel);
    out[sel] = ratio(getComputedStyle(el).color, bg);
  }
  const button = getComputedStyle(root.querySelector('button.submit'));
  out.submit = ratio(button.color, button.backgroundColor);
  return out;
}"""


async def test_both_themes_meet_wcag_aa_contrast(site: Site, page: Page) -> None:
    await site.published(ARTICLE, website="https://ada.example/")
    for theme in ("light", "dark"):
        await page.goto(site.article_page(f"/{theme}", ARTICLE, attrs=f'data-theme="{theme}"'))
        w = widget(page)
        await expect(w.locator(".text")).to_have_count(1)
        await w.locator("button.submit").click()  # shows the error texts too
        ratios = await w.evaluate(CONTRAST)
        assert min(ratios.values()) >= 4.5, (theme, ratios)


async def test_no_javascript_form_posts_and_shows_errors(site: Site, browser: Browser) -> None:
    ctx = await browser.new_context(java_script_enabled=False)
    page = await ctx.new_page()
    await page.goto(site.api + "/")
    form = page.locator("form.reply")
    await form.locator("[name=comment]").fill("Posted without scripts.")
    await form.locator("[name=name]").fill("Lin")
    await form.locator("[name=email]").fill("lin@example.org")
    await form.locator("button").click()
    assert page.url == site.api + "/#comment-pending"
    await expect(page.locator("#comment-pending")).to_be_visible()
    [record] = stored_comments(site.conn).values()
    assert record["comment"] == "Posted without scripts."

    await form.locator("[name=comment]").fill("Kept text <b>here</b>")
    await form.locator("[name=name]").fill("Lin")
    await form.locator("[name=email]").fill("lin@example.invalid")  # passes the browser's own check
    await form.locator("button").click()
    await expect(page.locator("h1")).to_have_text("Your comment could not be posted")
    await expect(page.locator("#email-error")).to_have_text("Enter a valid email address.")
    await expect(page.locator("textarea")).to_have_value("Kept text <b>here</b>")
    await expect(page.locator("[name=email]")).to_have_value("")  # never sent back
    await expect(page.locator("a", has_text="Back to the article")).to_have_attribute(
        "href", site.api + "/"
    )
    assert len(stored_comments(site.conn)) == 1
    await ctx.close()


async def test_demo_page_screenshot(site: Site, page: Page) -> None:
    first = await site.published(
        "lunar-station-2021",
        name="Ada",
        website="https://ada.example/",
        comment="Great read.\n\nThe budget section links https://example.org/budget nicely.",
    )
    await site.published("lunar-station-2021", name="Bob", comment="Agreed.", parent_id=first)
    await page.goto(site.api + "/")
    w = widget(page)
    await expect(w.locator("h2")).to_have_text("2 comments")
    await expect(w.locator("h2")).to_be_visible()
    # The server-rendered fallback sits in the light DOM, hidden by the shadow root.
    await expect(page.locator("form.reply")).to_be_hidden()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "demo-page.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


async def test_canonical_url_is_the_default_article_and_newest_first_sorts(
    site: Site, page: Page
) -> None:
    canonical = "https://news.example.org/2026/11/moon-base"
    older = await site.published(canonical, comment="Older")
    newer = await site.published(canonical, comment="Newer")
    site.pages["/story"] = (
        f'<!doctype html><html lang="en"><head><link rel="canonical" href="{canonical}">'
        '<title>Story</title></head><body><div id="comments"></div>'
        f'<script src="{site.api}/embed.js" data-sort="newest" async></script></body></html>'
    )
    await page.goto(site.origin + "/story?utm_source=feed")
    ids = widget(page).locator("ol.list > li.c")
    await expect(ids).to_have_count(2)
    assert [await li.get_attribute("id") for li in await ids.all()] == [f"c-{newer}", f"c-{older}"]


async def test_parts_load_under_a_strict_policy_and_leave_no_globals(
    site: Site, page: Page
) -> None:
    """A news page that allows scripts and connections to the service's origin only: embed.js
    imports its parts from there (German words, live updates, the form's actions), and the
    page's global scope holds nothing more afterwards."""
    await site.published(ARTICLE, comment="Erster!")
    policy = (
        f"default-src 'none'; script-src {site.api}; connect-src {site.api}; "
        "style-src 'unsafe-inline'"
    )
    path = site.article_page("/strict", ARTICLE, attrs='data-lang="de"').removeprefix(site.origin)
    site.pages[path] = site.pages[path].replace(
        "<head>", f'<head><meta http-equiv="Content-Security-Policy" content="{policy}">'
    )
    await page.add_init_script("window.__before = Object.getOwnPropertyNames(window);")
    parts: list[str] = []
    page.on("request", lambda r: parts.append(r.url) if "/embed-" in r.url else None)
    await page.goto(site.origin + path)
    w = widget(page)
    await expect(w.locator("h2")).to_have_text("1 Kommentar")
    await fill_form(page, comment="Ein guter Artikel.")
    await w.locator("button.submit").click()
    await expect(w.locator("li.pending .notice")).to_have_text(
        "Dein Kommentar wartet auf Freischaltung."
    )
    assert {url.rsplit("/", 1)[1].split(".")[0] for url in parts} == {
        "embed-de",
        "embed-live",
        "embed-form",
    }
    added = await page.evaluate(
        "Object.getOwnPropertyNames(window).filter((k) => !window.__before.includes(k))"
    )
    assert added == ["__before"]


async def test_a_banned_commenter_reads_the_services_neutral_message(
    site: Site, page: Page
) -> None:
    """A refusal the widget has no words of its own for shows the service's message (in the
    reader's language, by Accept-Language), never the bare error code."""
    address = "grace@example.org"
    digest = email_hash(address)
    commenter = EmailVault(SECRET).commenter_id(digest)
    await asyncio.to_thread(
        commenters.ban, site.conn, site.settings, digest, commenter, "desk", None,
        reject_existing=False,
    )  # fmt: skip
    await page.goto(site.article_page("/news/banned", ARTICLE))
    w = widget(page)
    await fill_form(page, email=address)
    await w.locator("button.submit").click()
    await expect(w.locator("form .status")).to_have_text(
        "Your comment cannot be accepted on this site."
    )
    assert not stored_comments(site.conn)
