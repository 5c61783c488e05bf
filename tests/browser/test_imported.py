"""An imported WordPress thread in a real browser: found from its live page's canonical URL,
nested, its HTML read as text, and answerable like any other thread."""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import Page, expect

from service.store import imports
from tests.browser.conftest import Site
from tests.helpers import stored_comments
from tests.importing import Quiet

PATH = "/2024/05/lunar-station/"
WXR = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel>
<item><title>A station at the lunar south pole</title>
<link>{link}</link><wp:post_id>101</wp:post_id>
<wp:comment><wp:comment_id>11</wp:comment_id>
<wp:comment_author>Zoë Harlow</wp:comment_author>
<wp:comment_author_url>https://zoe.example.net/</wp:comment_author_url>
<wp:comment_date_gmt>2024-05-03 10:15:00</wp:comment_date_gmt>
<wp:comment_content><![CDATA[Sharing the landers makes <strong>sense</strong>.

Typed &lt;script&gt;alert(1)&lt;/script&gt; as text.]]></wp:comment_content>
<wp:comment_approved>1</wp:comment_approved><wp:comment_parent>0</wp:comment_parent>
</wp:comment>
<wp:comment><wp:comment_id>12</wp:comment_id>
<wp:comment_author>山田 健二</wp:comment_author>
<wp:comment_date_gmt>2024-05-03 11:00:00</wp:comment_date_gmt>
<wp:comment_content><![CDATA[<blockquote>makes sense</blockquote>月面基地 🚀]]></wp:comment_content>
<wp:comment_approved>1</wp:comment_approved><wp:comment_parent>11</wp:comment_parent>
</wp:comment>
<wp:comment><wp:comment_id>13</wp:comment_id>
<wp:comment_author>Held Back</wp:comment_author>
<wp:comment_content>Not public yet.</wp:comment_content>
<wp:comment_approved>0</wp:comment_approved><wp:comment_parent>0</wp:comment_parent>
</wp:comment>
</item></channel></rss>
"""


async def test_the_widget_shows_an_imported_thread(site: Site, page: Page, tmp_path: Path) -> None:
    # The old system saw the page with an upper-case host and no trailing slash; the live page
    # names itself by its canonical URL, and the widget uses that as the article id.
    host = site.origin.removeprefix("http://")
    export = tmp_path / "wordpress.xml"
    export.write_text(WXR.format(link=f"http://{host.upper()}{PATH.rstrip('/')}"), encoding="utf-8")
    settings = site.settings.with_overrides(import_scheme="http")
    request = imports.Request("wordpress", export)
    summary = await asyncio.to_thread(imports.run, site.conn, settings, request, Quiet())
    assert dict(summary.added) == {"approved": 2, "held": 1}

    site.pages[PATH] = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<link rel="canonical" href="{site.origin}{PATH}"><title>Lunar station</title></head>'
        '<body><h1>A station at the lunar south pole</h1><div id="comments"></div>'
        f'<script src="{site.api}/embed.js" async></script></body></html>'
    )
    await page.goto(site.origin + PATH)
    w = page.locator("#comments .root")
    await expect(w.locator("h2")).to_have_text("2 comments")
    stored = {r["name"]: r["id"] for r in stored_comments(site.conn).values()}
    zoe = w.locator(f"#c-{stored['Zoë Harlow']}")
    await expect(zoe.locator("> article a.author")).to_have_text("Zoë Harlow")
    await expect(zoe.locator("> article a.author")).to_have_attribute(
        "href", "https://zoe.example.net/"
    )
    text = await zoe.locator("> article .text").inner_text()
    assert "Sharing the landers makes sense." in text
    assert "Typed <script>alert(1)</script> as text." in text  # shown, never run
    reply = zoe.locator("> ol.replies > li.c")
    await expect(reply.locator(".text")).to_contain_text("月面基地 🚀")
    # The import wrote the quote as Markdown: readers see it as a quote again.
    await expect(reply.locator(".text blockquote")).to_have_text("makes sense")
    await expect(w.locator("text=Not public yet.")).to_have_count(0)

    # A reader answers an imported comment: the reply is bound to it.
    await zoe.locator("> article button.link").click()
    form = w.locator(f"#c-{stored['Zoë Harlow']} > form")
    for name, value in {
        "comment": "Welcome back.",
        "name": "Ada",
        "email": "ada@example.org",
    }.items():
        await form.locator(f"[name={name}]").fill(value)
    await w.locator("button.submit").click()
    await expect(zoe.locator("> ol.replies > li.pending")).to_have_count(1)
    [answer] = [r for r in stored_comments(site.conn).values() if r["comment"] == "Welcome back."]
    assert answer["parent_id"] == stored["Zoë Harlow"]
    assert answer["article"] == f"{site.origin}{PATH}"
