"""The widget's accessibility audit: axe-core in Chromium finds no serious or critical
violation on the demo article page with a thread, the form in use, a reply open and the report
dialog open, in the light theme and in the dark one."""

from __future__ import annotations

from playwright.async_api import Page, expect

from service.web.routes.demo import ARTICLE_ID
from tests.browser.axe import serious_violations
from tests.browser.conftest import Site
from tests.browser.test_widget import widget


async def open_everything(page: Page, first: str, second: str) -> None:
    """The form focused, a reply to `first` open, the report dialog of `second` open."""
    w = widget(page)
    await expect(w.locator("ol.list > li.c")).to_have_count(2)
    await w.locator("form textarea[name=comment]").focus()
    await w.locator(f"#c-{first} > article button.reply").click()
    await expect(w.locator(f"#c-{first} > form")).to_have_count(1)
    await w.locator("form [name=name]").fill("Grace")
    await w.locator(f"#c-{second} > article button.rep").click()
    await expect(w.locator(f"#c-{second} .report select")).to_be_focused()
    # A refused post shows the field errors too.
    await w.locator("button.submit").click()
    await expect(w.locator("#email-error")).not_to_be_empty()


async def seed(site: Site) -> tuple[str, str]:
    first = await site.published(ARTICLE_ID, name="Ada", website="https://ada.example/")
    second = await site.published(ARTICLE_ID, name="Bob", comment="Second.")
    await site.published(ARTICLE_ID, name="Cy", comment="A reply.", parent_id=first)
    return first, second


async def test_the_demo_page_has_no_serious_violations(site: Site, page: Page) -> None:
    first, second = await seed(site)
    await page.goto(site.api + "/")
    await open_everything(page, first, second)
    assert await serious_violations(page) == []


async def test_the_dark_theme_has_no_serious_violations(site: Site, page: Page) -> None:
    first, second = await seed(site)
    await page.emulate_media(color_scheme="dark")
    for theme in ("dark", "auto"):
        url = site.article_page(f"/{theme}", ARTICLE_ID, attrs=f'data-theme="{theme}"')
        await page.goto(url)
        await open_everything(page, first, second)
        assert await serious_violations(page, {"include": [["#comments"]]}) == [], theme
