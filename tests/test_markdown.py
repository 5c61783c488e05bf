"""The Markdown subset: what it renders, and hostile texts that must come out inert."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import redis

from service.core import markdown
from service.core.markdown import ATTRIBUTES, LINK_REL, MAX_COSTLY, MAX_NESTING, TAGS, render
from tests.helpers import ARTICLE, Client, seed_thread


class Tags(HTMLParser):
    """Every start tag and its attributes, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.found


def assert_only_the_subset(html: str) -> None:
    for tag, attrs in tags_of(html):
        assert tag in TAGS, html
        allowed = ATTRIBUTES.get(tag, set()) | ({"rel"} if tag == "a" else set())
        assert set(attrs) <= allowed, html
        if tag == "a":
            assert attrs["rel"] == LINK_REL
            assert re.match(r"https?://", attrs["href"] or ""), html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("*soft* and **strong**", "<p><em>soft</em> and <strong>strong</strong></p>"),
        ("use `a < b`", "<p>use <code>a &lt; b</code></p>"),
        ("> quoted\n\nmine", "<blockquote>\n<p>quoted</p>\n</blockquote>\n<p>mine</p>"),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
        ("3. three\n4. four", '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>'),
        ("```\nx = 1 < 2\n```", "<pre><code>x = 1 &lt; 2\n</code></pre>"),
        ("line\nbreak", "<p>line<br>\nbreak</p>"),
        (
            "[the budget](https://example.org/budget)",
            f'<p><a href="https://example.org/budget" rel="{LINK_REL}">the budget</a></p>',
        ),
        (
            "see https://example.org/a?b=1.",
            f'<p>see <a href="https://example.org/a?b=1" rel="{LINK_REL}">'
            "https://example.org/a?b=1</a>.</p>",
        ),
        (
            "<https://example.org/>",
            f'<p><a href="https://example.org/" rel="{LINK_REL}">https://example.org/</a></p>',
        ),
        # Not in the subset: shown as typed.
        ("# Breaking", "<p># Breaking</p>"),
        ("Title\n=====", "<p>Title<br>\n=====</p>"),
        ("---", "<p>---</p>"),
        ("", ""),
    ],
)
def test_the_subset_renders(text: str, html: str) -> None:
    assert render(text) == html


def test_images_become_links_that_load_nothing() -> None:
    html = render("![pixel](https://tracker.example/p.gif)")
    assert "<img" not in html
    assert tags_of(html) == [
        ("p", {}),
        ("a", {"href": "https://tracker.example/p.gif", "rel": LINK_REL}),
    ]


HOSTILE = [
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](  javascript:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;&#x61;vascript:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](%6Aavascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "[x](file:///etc/passwd)",
    "[x](/relative) [y](//evil.example/) [z](#top)",
    "<javascript:alert(1)> <data:text/html,x> <mailto:a@example.org> <a@example.org>",
    "[x]: javascript:alert(1)\n\n[click][x]",
    '[x](https://ok.example/"onmouseover="alert(1))',
    "[x](https://ok.example/ 'title\" onmouseover=\"alert(1)')",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "<svg onload=alert(1)>",
    "<iframe src=https://evil.example/></iframe>",
    "<!-- comment --><style>*{}</style>",
    "<b onclick=alert(1)>bold</b>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "    <script>alert(1)</script>",
    "> > > <img src=x onerror=alert(1)>",
    "- <script>alert(1)</script>\n  - [x](javascript:alert(1))",
    "**<img src=x onerror=alert(1)>**",
    "[<img src=x onerror=alert(1)>](https://ok.example/)",
    "https://ok.example/<script>alert(1)</script>",
    'https://ok.example/"><script>alert(1)</script>',
    "javascript://%0aalert(1)",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_comes_out_inert(text: str) -> None:
    html = render(text)
    assert_only_the_subset(html)
    # Whatever was typed as markup is shown as text: escaped, never a tag.
    assert "<script" not in html
    assert "<img" not in html


def test_entities_stay_text() -> None:
    assert render("&lt;b&gt;not bold&lt;/b&gt;") == "<p>&lt;b&gt;not bold&lt;/b&gt;</p>"


def test_quotes_nest_and_stay_the_subset() -> None:
    html = render("> outer\n> > inner\n> > > innermost *em*")
    assert html.count("<blockquote>") == 3
    assert_only_the_subset(html)


def test_deep_nesting_is_shown_as_plain_paragraphs_with_every_word() -> None:
    deep_list = "".join("  " * i + f"- word{i}\n" for i in range(MAX_NESTING * 2))
    html = render(deep_list)
    assert "<ul>" not in html
    assert all(f"word{i}" in html for i in range(MAX_NESTING * 2))
    quotes = render("> " * 5000 + "bottom")
    assert "bottom" in quotes
    assert_only_the_subset(quotes)


def test_shallow_nesting_keeps_its_structure() -> None:
    html = render("".join("  " * i + f"- w{i}\n" for i in range(4)))
    assert html.count("<ul>") == 4


@pytest.mark.parametrize("unit", ["[", "![", "[a](", "*", "_a", "<", "&#", "`", "> - "])
def test_long_runs_of_markup_characters_render_inert(unit: str) -> None:
    """Runs that cost the parser more than linear time are shown as plain paragraphs; how long
    they take is measured by tests/bench/markdown.py."""
    text = (unit * 10_000)[:10_000]
    assert_only_the_subset(render(text))


def test_a_text_with_more_costly_characters_than_prose_needs_is_plain() -> None:
    text = "*emphasis* " + "[" * (MAX_COSTLY + 1)
    assert "<em>" not in render(text)
    assert "<em>" in render("*emphasis* " + "[" * 10)


def test_very_long_text_keeps_every_character() -> None:
    text = "Word " * 2_000 + "https://example.org/end"
    html = render(text)
    assert html.count("Word") == 2_000
    assert 'href="https://example.org/end"' in html


async def test_pages_carry_the_html_beside_the_text(client: Client, rconn: redis.Redis) -> None:
    text = "A *fine* point, see https://example.org/x\n\n> quoted"
    seed_thread(rconn, ARTICLE, 1, replies=1, text=text)
    resp = await client.get(f"/api/v1/comments?article={ARTICLE}&limit=5")
    comment = (await resp.json())["comments"][0]
    assert comment["text"] == text
    assert comment["html"] == render(text)
    assert comment["replies"][0]["html"] == render(text)


async def test_a_text_too_big_to_share_a_page_with_its_html_has_none(
    client: Client, rconn: redis.Redis
) -> None:
    seed_thread(rconn, "big", 1, text="👍" * 10_000)  # 40,000 bytes, its HTML as many
    seed_thread(rconn, "long", 1, text="x" * 10_000)
    for article, html in (("big", None), ("long", f"<p>{'x' * 10_000}</p>")):
        resp = await client.get(f"/api/v1/comments?article={article}&limit=5")
        assert (await resp.json())["comments"][0]["html"] == html


def test_the_widget_rebuilds_the_same_allow_list() -> None:
    """embed.js takes the HTML in again through its own copy of the allow-list."""
    source = (Path(__file__).parent.parent / "service/web/static/embed.js").read_text()
    tags = re.search(r'const TAGS = "([A-Z ]+)"', source)
    attrs = re.search(r"const ATTRS = \{ A: \[\"href\"\], OL: \[\"start\"\] \};", source)
    assert tags is not None
    assert set(tags.group(1).lower().split()) == TAGS
    assert attrs is not None
    assert {"a": {"href"}, "ol": {"start"}} == ATTRIBUTES


@pytest.mark.parametrize("text", [*HOSTILE, "see https://a.example/?q=\"x\"&r=<y> and 'z'\n\nnext"])
def test_the_plain_fallback_is_already_what_nh3_would_leave(text: str) -> None:
    """The fallback skips nh3 (its cost is what the fallback saves): nh3 finds nothing in it
    to remove."""
    plain = markdown._plain(text)
    assert tags_of(markdown._CLEANER.clean(plain)) == tags_of(plain)
    assert_only_the_subset(plain)
