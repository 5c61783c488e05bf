"""WordPress's export (WXR 1.0-1.2: Tools > Export > All content), read as a stream.

An RSS document whose `<item>`s are posts, pages and attachments, each with its
`<wp:comment>`s (and its `post_date_gmt`, or local `post_date`: when it was published):
`comment_id`, `comment_parent` (0 for none), `comment_author`,
`comment_author_email`, `comment_author_url`, `comment_author_IP`, `comment_date_gmt`
(`comment_date`, local time, when the GMT one is zero), `comment_content` (as typed, with
the HTML WordPress allows; newlines are its paragraphs), `comment_approved` ("1", "0",
"spam", "trash", "post-trashed") and `comment_type` ("comment" or empty, "pingback",
"trackback", or a plugin's own). Elements are matched by local name whatever the `wp:`
namespace's version, and unknown ones are ignored. Files this service wrote carry each
article id and comment id in `comments_article` and `comments_id` meta entries.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from service.core.formats import cleaning, xmlstream
from service.core.formats.html_text import to_text
from service.core.formats.model import FormatError, Item, Kind, SourceComment, SourceThread
from service.core.statuses import Status

NAMESPACE_PREFIX = "http://wordpress.org/export/"
# This service's own keys in the meta of the files it exports.
ARTICLE_META = "comments_article"
ID_META = "comments_id"
APPROVED = {
    "1": Status.APPROVED,
    "approve": Status.APPROVED,
    "0": Status.HELD,
    "hold": Status.HELD,
    "spam": Status.SPAM,
    "trash": Status.DELETED,
    "post-trashed": Status.DELETED,
}
KINDS = {
    "": Kind.COMMENT,
    "comment": Kind.COMMENT,
    "pingback": Kind.PINGBACK,
    "trackback": Kind.TRACKBACK,
}


def read(path: Path) -> Iterator[Item]:
    for item in xmlstream.records(path, {"item"}, _check_root, depth=2):
        fields = xmlstream.children(item)
        key = xmlstream.text(fields.get("post_id")).strip() or f"line-{item.sourceline}"
        meta = _meta(item, "{*}postmeta")
        yield SourceThread(
            key=key,
            url=xmlstream.text(fields.get("link")) or xmlstream.text(fields.get("guid")),
            title=xmlstream.text(fields.get("title")),
            article=meta.get(ARTICLE_META),
            published=cleaning.timestamp(xmlstream.text(fields.get("post_date_gmt")))
            or cleaning.timestamp(xmlstream.text(fields.get("post_date"))),
        )
        for element in item:
            if xmlstream.local(element.tag) == "comment" and _in_wp(element):
                yield _comment(key, element)


def _check_root(root: etree._Element) -> None:
    name = xmlstream.local(root.tag)
    if name == "disqus":
        raise FormatError("this is a Disqus export, not WordPress's: use `comments import disqus`")
    if name != "rss":
        raise FormatError(f"not a WordPress export (WXR): the document is <{name}>, not <rss>")
    if not any(str(uri).startswith(NAMESPACE_PREFIX) for uri in root.nsmap.values()):
        raise FormatError(
            "an RSS feed, not a WordPress export (WXR): no wordpress.org/export namespace",
            root.sourceline,
        )


def _in_wp(element: etree._Element) -> bool:
    return xmlstream.namespace(element).startswith(NAMESPACE_PREFIX)


def _comment(thread: str, element: etree._Element) -> SourceComment:
    # The comment's fields share its namespace, whichever WXR version it is: one dict by
    # full name is far cheaper than matching every child's local name.
    prefix = str(element.tag)[: -len("comment")]
    values = {child.tag: child.text for child in element}

    def f(name: str) -> str:
        return values.get(prefix + name) or ""

    created = cleaning.timestamp(f("comment_date_gmt"))
    return SourceComment(
        thread=thread,
        source_id=f("comment_id").strip() or f"line-{element.sourceline}",
        parent=f("comment_parent").strip() or None,
        author=f("comment_author"),
        email=f("comment_author_email"),
        website=f("comment_author_url"),
        ip=f("comment_author_IP"),
        created_at=created if created is not None else cleaning.timestamp(f("comment_date")),
        text=to_text(f("comment_content"), keep_newlines=True),
        # Anything else is a state a plugin invented: a moderator should look at it.
        status=APPROVED.get(f("comment_approved").strip().lower(), Status.HELD),
        kind=KINDS.get(f("comment_type").strip().lower(), Kind.OTHER),
        comment_id=_meta(element, prefix + "commentmeta").get(ID_META),
    )


def _meta(element: etree._Element, tag: str) -> dict[str, str]:
    """This service's own entries among the element's <wp:postmeta> or <wp:commentmeta>."""
    found = {}
    for child in element.iterchildren(tag):
        fields = xmlstream.children(child)
        key = xmlstream.text(fields.get("meta_key"))
        if key in (ARTICLE_META, ID_META):
            found[key] = xmlstream.text(fields.get("meta_value"))
    return found
