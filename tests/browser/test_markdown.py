"""Markdown in real Chromium: hostile comments stay inert in the widget and in the page without
JavaScript, while the subset renders (emphasis, links with their rel, quotes, lists, code)."""

from __future__ import annotations

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import Site
from tests.helpers import ARTICLE

# Each sets window.__xss (or opens a dialog, which fails the test) if it ever runs.
HOSTILE = [
    "[click](javascript:window.__xss=1)",
    "[click](JaVaScRiPt:window.__xss=2)",
    "[click](&#106;avascript:window.__xss=3)",
    "[click](data:text/html,<script>parent.__xss=4</script>)",
    "<javascript:window.__xss=5>",
    "[ref]: javascript:window.__xss=6\n\n[click][ref]",
    "<img src=x onerror=window.__xss=7>",
    "<script>window.__xss=8</script>",
    "<svg onload=window.__xss=9>",
    '[click](https://ok.example/"onmouseover="window.__xss=10)',
    "**<img src=x onerror=window.__xss=11>**",
    "> > <iframe src=javascript:window.__xss=12></iframe>",
    "- <details open ontoggle=window.__xss=13>\n  - `<b onclick=alert(14)>`",
    "&lt;img src=x onerror=window.__xss=15&gt;",
    "&#60;script&#62;window.__xss=16&#60;/script&#62;",
    "```\n</code></pre><img src=x onerror=window.__xss=17>\n```",
    "![x](javascript:window.__xss=18)",
    "https://ok.example/<img/src/onerror=window.__xss=19>",
]
INJECTED = "script, img, iframe, svg, details, style, object, embed, form, input, [onerror]"
LEGIT = (
    "Some *emphasis* and **strong** words.\n\n"
    "> Quoted from the article\n\n"
    "- first point\n- second point\n\n"
    "Read [the budget](https://example.org/budget) or https://example.org/plain.\n\n"
    "Inline `code` and a block:\n\n"
    "```\nx = 1\n```"
)


async def hostile_thread(site: Site) -> list[str]:
    return [await site.published(ARTICLE, comment=text) for text in HOSTILE]


def console_errors(page: Page) -> list[str]:
    """Errors the tab logs (a blocked script or load would show here); the news site's missing
    favicon aside."""
    errors: list[str] = []
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and "favicon" not in str(m.location)
            else None
        ),
    )
    return errors


async def assert_inert(page: Page, scope: Locator) -> None:
    assert await scope.locator(INJECTED).count() == 0
    for link in await scope.locator("a").all():
        href = await link.get_attribute("href") or ""
        assert href.startswith(("https://", "http://")), href
    # Hover and click what could carry a handler: nothing may run.
    for text in await scope.locator(".text a, .text b, .text code").all():
        await text.hover()
    assert await page.evaluate("window.__xss") is None


async def test_hostile_markdown_stays_inert_in_the_widget(site: Site, page: Page) -> None:
    errors = console_errors(page)
    ids = await hostile_thread(site)
    await page.goto(site.article_page("/news/moon", ARTICLE, attrs='data-sort="oldest"'))
    w = page.locator("#comments .root")
    await expect(w.locator("h2")).to_have_text(f"{len(HOSTILE)} comments")
    await expect(w.locator("li.c")).to_have_count(len(HOSTILE))
    await assert_inert(page, w.locator(".text"))
    # What was typed as HTML is there as text for the reader to see.
    await expect(w.locator(f"#c-{ids[7]} .text")).to_have_text("<script>window.__xss=8</script>")
    await expect(w.locator(f"#c-{ids[0]} .text")).to_have_text(HOSTILE[0])
    assert errors == []


async def test_hostile_markdown_stays_inert_without_javascript(site: Site, nojs_page: Page) -> None:
    await hostile_thread(site)
    await nojs_page.goto(site.api + "/")
    thread = nojs_page.locator("#comments .comment")
    await expect(thread).to_have_count(len(HOSTILE))
    assert await nojs_page.locator(f"#comments .text :is({INJECTED})").count() == 0
    for link in await nojs_page.locator("#comments .text a").all():
        assert (await link.get_attribute("href") or "").startswith(("https://", "http://"))


async def check_legit(scope: Locator) -> None:
    await expect(scope.locator("em")).to_have_text("emphasis")
    await expect(scope.locator("strong")).to_have_text("strong")
    await expect(scope.locator("blockquote")).to_have_text("Quoted from the article")
    await expect(scope.locator("ul > li")).to_have_text(["first point", "second point"])
    await expect(scope.locator("p > code")).to_have_text("code")
    await expect(scope.locator("pre > code")).to_have_text("x = 1")
    links = scope.locator("a")
    await expect(links).to_have_count(2)
    await expect(links.first).to_have_attribute("href", "https://example.org/budget")
    await expect(links.first).to_have_text("the budget")
    await expect(links.nth(1)).to_have_attribute("href", "https://example.org/plain")
    for i in range(2):
        await expect(links.nth(i)).to_have_attribute("rel", "nofollow ugc noopener")


@pytest.mark.parametrize("scripts", [True, False], ids=["widget", "no-js"])
async def test_the_markdown_subset_renders(
    site: Site, page: Page, nojs_page: Page, scripts: bool
) -> None:
    comment_id = await site.published(ARTICLE, comment=LEGIT)
    if scripts:
        errors = console_errors(page)
        await page.goto(site.article_page("/news/moon", ARTICLE))
        await check_legit(page.locator(f"#comments .root #c-{comment_id} .text"))
        assert errors == []
    else:
        await nojs_page.goto(site.api + "/")
        await check_legit(nojs_page.locator(f"#c-{comment_id} .text"))
