"""The moderators' HTML emails (a notification and a digest) are readable by assistive
technology: a language, a title, and links that say where they go."""

from __future__ import annotations

from email.message import EmailMessage
from html.parser import HTMLParser

from workers.messages import Digest, Notice, digest_email, moderation_email

NOTICE = Notice(
    comment_id="0123456789abcdef-0123456789abcdef",
    article="a-1",
    article_url="https://news.example.org/a-1",
    title="The <b>council</b> vote",
    name="Reader",
    website="",
    text="First paragraph.\n\nSecond.",
    status="held",
    score="3.5",
    reasons=("First comment from this commenter. (+3)",),
    approved_before=0,
    links=tuple(
        (a, f"https://c.example.org/moderate/{a}?t=x") for a in ("approve", "reject", "spam")
    ),
    workspace_url="https://c.example.org/moderation/comment/0123456789abcdef-0123456789abcdef",
)


class Page(HTMLParser):
    """What the checks need: the root's lang, the title, and each link's text."""

    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.title = ""
        self.links: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        if tag in ("title", "a"):
            self._in = tag
            if tag == "a":
                self.links.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "title":
            self.title += data
        elif self._in == "a":
            self.links[-1] += data


def html_part(msg: EmailMessage) -> Page:
    part = msg.get_body(("html",))
    assert part is not None
    page = Page()
    page.feed(part.get_content())
    return page


def test_notification_and_digest_have_lang_title_and_named_links() -> None:
    sender, to = "c@example.org", ["m@example.org"]
    mails = [
        moderation_email(NOTICE, sender, to, "example.org"),
        digest_email(Digest("held", "b1", (NOTICE, NOTICE), 3), sender, to, "example.org"),
        digest_email(Digest("spam", "b2", (NOTICE,)), sender, to, "example.org"),
    ]
    for msg in mails:
        page = html_part(msg)
        assert page.lang == "en"
        assert page.title.strip()
        # The title's words are text (escaped), not markup.
        assert "<b>" not in str(msg.get_body(("html",)))
        assert page.links
        assert all(text.strip() for text in page.links), page.links
