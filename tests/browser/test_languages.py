"""The widget's six languages in Chromium: the heading's count in each language's plural forms,
relative times and dates by Intl, the service asked in the same language, and the language
chosen from the script tag, else the page, else the browser."""

from __future__ import annotations

from datetime import datetime, timedelta

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import Site
from tests.browser.test_widget import widget

ARTICLE = "election-night"
# Counts of 1, 3 and 5 take three different forms in Russian (one, few, many).
EXPECTED = {
    "en": ("1 comment", "3 comments", "5 comments", "5 minutes ago", "Leave a Reply"),
    "de": ("1 Kommentar", "3 Kommentare", "5 Kommentare", "vor 5 Minuten", "Schreibe"),
    "fr": ("1 commentaire", "3 commentaires", "5 commentaires", "il y a 5 minutes", "Laisser"),
    "es": ("1 comentario", "3 comentarios", "5 comentarios", "hace 5 minutos", "Deja"),
    "ru": ("1 комментарий", "3 комментария", "5 комментариев", "5 минут назад", "Оставить"),
    "zh": ("1 条评论", "3 条评论", "5 条评论", "5分钟前", "发表评论"),
}
# "N comments" links on the page, for the counts the thread itself does not have.
LINKS = '<a href="#" data-count="lang-one">…</a> <a href="#" data-count="lang-five">…</a>'


def with_lang(site: Site, path: str, lang: str | None) -> None:
    """Give the news page at `path` another <html lang> (None: no lang attribute at all)."""
    attr = f' lang="{lang}"' if lang else ""
    site.pages[path] = site.pages[path].replace('<html lang="en">', f"<html{attr}>")


async def test_six_languages_with_their_plurals_times_and_accept_language(
    site: Site, page: Page
) -> None:
    for _ in range(3):
        await site.published(ARTICLE)
    await site.published("lang-one")
    for _ in range(5):
        await site.published("lang-five")
    # The reader looks five minutes after the comments were written.
    await page.clock.set_fixed_time(datetime.now() + timedelta(minutes=5, seconds=10))
    w = widget(page)
    for lang, (one, three, five, ago, title) in EXPECTED.items():
        url = site.article_page(f"/{lang}", ARTICLE, attrs=f'data-lang="{lang}"', extra=LINKS)
        async with page.expect_request(lambda r: "/api/v1/comments?" in r.url) as asked:
            await page.goto(url)
        assert (await (await asked.value).all_headers())["accept-language"] == lang
        await expect(w.locator("h2")).to_have_text(three)
        await expect(w.locator("ol.list > li.c").first.locator("time")).to_have_text(ago)
        await expect(w.locator("form h3")).to_contain_text(title)
        await expect(page.locator("a[data-count=lang-one]")).to_have_text(one)
        await expect(page.locator("a[data-count=lang-five]")).to_have_text(five)
        assert await w.get_attribute("lang") == lang
        # The exact time on hover, in the language's own date format.
        hover = await w.locator("time").first.get_attribute("title") or ""
        assert str(datetime.now().year) in hover


async def test_the_language_comes_from_the_tag_else_the_page_else_the_browser(
    site: Site, browser: Browser
) -> None:
    await site.published(ARTICLE)
    ctx = await browser.new_context(locale="es-ES")
    page = await ctx.new_page()
    w = widget(page)
    cases = [
        ("/tag", 'data-lang="de"', "ru", "1 Kommentar"),  # the tag wins over the page
        ("/unknown-tag", 'data-lang="it"', "fr", "1 commentaire"),  # one we have, in order
        ("/page", "", "ru-RU", "1 комментарий"),
        ("/browser", "", None, "1 comentario"),  # navigator.language
        ("/nothing-we-have", 'data-lang="it"', "pt", "1 comentario"),
    ]
    try:
        for path, attrs, html_lang, heading in cases:
            site.article_page(path, ARTICLE, attrs=attrs)
            with_lang(site, path, html_lang)
            await page.goto(site.origin + path)
            await expect(w.locator("h2")).to_have_text(heading)
        english = await browser.new_context(locale="pt-BR")
        try:
            other = await english.new_page()
            site.article_page("/fallback", ARTICLE)
            with_lang(site, "/fallback", None)
            await other.goto(site.origin + "/fallback")
            await expect(widget(other).locator("h2")).to_have_text("1 comment")
        finally:
            await english.close()
    finally:
        await ctx.close()
