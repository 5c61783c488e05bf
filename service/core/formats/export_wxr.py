"""`comments export --format wxr`: a WordPress export (WXR 1.2) that WordPress's importer,
and `comments import wordpress`, read.

One `<item>` per article, its comments as `<wp:comment>`s with `comment_approved` "1"
(approved), "0" (held or pending), "spam", or "trash" (rejected). WXR numbers comments, so
each gets a number in the file and its parent the parent's number. This service's own ids go
along as meta entries (`comments_article`, `comments_id`): importing the file back here finds
the same article and the same comments. Written as a stream, one article in memory at a time.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import BinaryIO

from lxml import etree

from service.core.formats.model import ArticleComments
from service.core.formats.wordpress import ARTICLE_META, ID_META

WP = "http://wordpress.org/export/1.2/"
NSMAP = {
    "excerpt": "http://wordpress.org/export/1.2/excerpt/",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "wfw": "http://wellformedweb.org/CommentAPI/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "wp": WP,
}
APPROVED = {"approved": "1", "held": "0", "pending": "0", "spam": "spam", "rejected": "trash"}


def write(out: BinaryIO, site_url: str, articles: Iterable[ArticleComments]) -> int:
    """Write the export to `out`; the number of comments written."""
    written = 0
    with etree.xmlfile(out, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element("rss", {"version": "2.0"}, nsmap=NSMAP), xf.element("channel"):
            for name, value in (("title", "Comments"), ("link", site_url)):
                xf.write(_element(name, value))
            xf.write(_element(f"{{{WP}}}wxr_version", "1.2"))
            xf.write(_element(f"{{{WP}}}base_site_url", site_url))
            xf.write(_element("generator", "comments"))
            for post_id, article in enumerate(articles, start=1):
                xf.write(_item(post_id, article, written))
                written += len(article.comments)
                xf.flush()
    return written


def _item(post_id: int, article: ArticleComments, numbered: int) -> etree._Element:
    item = etree.Element("item", nsmap=NSMAP)
    link = article.article if article.article.startswith(("http://", "https://")) else ""
    _sub(item, "title", article.title or article.article)
    _sub(item, "link", link)
    _sub(item, f"{{{WP}}}post_id", str(post_id))
    _sub(item, f"{{{WP}}}post_type", "post")
    _sub(item, f"{{{WP}}}status", "publish")
    _sub(item, f"{{{WP}}}comment_status", "open")
    _meta(item, "postmeta", ARTICLE_META, article.article)
    numbers = {c["id"]: numbered + i for i, c in enumerate(article.comments, start=1)}
    for c in article.comments:
        created = datetime.fromtimestamp(float(c.get("created_at") or 0), UTC)
        date = created.strftime("%Y-%m-%d %H:%M:%S")
        comment = etree.SubElement(item, f"{{{WP}}}comment")
        for name, value in (
            ("comment_id", str(numbers[c["id"]])),
            ("comment_author", c.get("name", "")),
            ("comment_author_email", c.get("email", "")),
            ("comment_author_url", c.get("website", "")),
            ("comment_author_IP", ""),
            ("comment_date", date),
            ("comment_date_gmt", date),
            # Plain text here; HTML there (WordPress reads "<" as markup): escaped.
            ("comment_content", html.escape(c.get("comment", ""), quote=False)),
            ("comment_approved", APPROVED.get(c.get("status", ""), "0")),
            ("comment_type", "comment"),
            ("comment_parent", str(numbers.get(c.get("parent_id", ""), 0))),
            ("comment_user_id", "0"),
        ):
            _sub(comment, f"{{{WP}}}{name}", value)
        _meta(comment, "commentmeta", ID_META, c["id"])
    return item


def _element(name: str, text: str) -> etree._Element:
    element = etree.Element(name, nsmap=NSMAP)
    element.text = text
    return element


def _sub(parent: etree._Element, name: str, text: str) -> None:
    etree.SubElement(parent, name).text = text


def _meta(parent: etree._Element, kind: str, key: str, value: str) -> None:
    meta = etree.SubElement(parent, f"{{{WP}}}{kind}")
    _sub(meta, f"{{{WP}}}meta_key", key)
    _sub(meta, f"{{{WP}}}meta_value", value)
