"""What moderators are told about a comment: pure builders for email and webhook.

Built from an explicit allow-list of record fields: never the address, its HMAC or the IP.
"""

from __future__ import annotations

import email.policy
import functools
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.headerregistry import Address, AddressHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import formatdate
from typing import cast

import idna
import jinja2

HEADLINES = {"held": "Held for moderation", "approved": "Published", "spam": "Marked as spam"}
LINK_LABELS = {"approve": "Approve", "reject": "Reject", "spam": "Mark as spam", "ham": "Not spam"}


@dataclass(frozen=True, slots=True)
class Notice:
    comment_id: str
    article: str
    article_url: str
    title: str
    name: str
    website: str
    text: str
    status: str
    score: str
    reasons: tuple[str, ...]
    approved_before: int
    links: tuple[tuple[str, str], ...] = ()  # (action, signed URL)
    workspace_url: str = ""  # the comment in the moderators' workspace (needs signing in)
    # The address is known but this comment did not prove it is its owner's (see README,
    # "Trust needs proof"): moderators must not read it as the known commenter's.
    unproven: bool = False

    @classmethod
    def of(
        cls,
        record: Mapping[str, str],
        approved_before: int,
        links: Sequence[tuple[str, str]] = (),
        workspace_url: str = "",
    ) -> Notice:
        reasons = json.loads(record.get("reasons") or "[]")
        return cls(
            comment_id=record["id"],
            article=record["article"],
            article_url=record.get("article_url", ""),
            title=record.get("title", ""),
            name=record["name"],
            website=record.get("website", ""),
            text=record["comment"],
            status=record["status"],
            score=record.get("score", ""),
            reasons=tuple(f"{r['text']} ({r['points']:+g})" for r in reasons),
            approved_before=approved_before,
            links=tuple(links),
            workspace_url=workspace_url,
            unproven=any(r["code"] == "unproven_address" for r in reasons),
        )

    @property
    def headline(self) -> str:
        return HEADLINES.get(self.status, self.status)

    @property
    def commenter(self) -> str:
        if self.approved_before and self.unproven:
            return (
                f"not proven to be the known commenter ({self.approved_before} approved "
                "comments with this address, none from this browser)"
            )
        if self.approved_before:
            return f"known commenter, {self.approved_before} approved comments"
        return "first-time commenter"

    @property
    def known(self) -> bool:
        return self.approved_before > 0 and not self.unproven

    def lines(self, text: Callable[[str], str] = str, url: Callable[[str], str] = str) -> list[str]:
        """The summary; `text` and `url` escape what the commenter wrote for where the lines
        go (Slack's format in the webhook; nothing in the plain-text email)."""
        author = text(self.name) + (f" ({url(self.website)})" if self.website else "")
        article = text(self.title or self.article)
        return [
            f"{self.headline}: a comment by {author}",
            f"Article: {article}" + (f" <{url(self.article_url)}>" if self.article_url else ""),
            f"Commenter: {self.commenter}",
            f"Verdict: {self.status}, score {self.score}",
        ]


def moderation_email(
    notice: Notice, mail_from: str, recipients: Sequence[str], domain: str
) -> EmailMessage:
    subject = f"[Comments] {notice.headline}: {notice.name} on {notice.title or notice.article}"
    message_id = f"<{notice.comment_id}.{notice.status}@{domain}>"
    msg = _message(subject, mail_from, recipients, message_id)
    context = {"notice": notice, "labels": LINK_LABELS}
    msg.set_content(_render("moderation.txt", context))
    msg.add_alternative(_render("moderation.html", context), subtype="html")
    return msg


def webhook_body(notice: Notice) -> bytes:
    # Slack reads "<...>" in `text` as a mention (<!channel>) or a link (<url|label>), so what
    # the commenter wrote is escaped there; the structured fields below stay as written.
    reasons = (f"• {slack_text(r)}" for r in notice.reasons)
    lines = notice.lines(text=slack_text, url=slack_url)
    summary = "\n".join([*lines, *reasons, "", slack_text(notice.text)])
    payload = {
        "event": f"comment.{notice.status}",
        "text": summary,  # Slack-compatible incoming-webhook field
        "comment": {
            "id": notice.comment_id,
            "article": notice.article,
            "article_url": notice.article_url or None,
            "title": notice.title or None,
            "author_name": notice.name,
            "website": notice.website or None,
            "text": notice.text,
            "status": notice.status,
            "score": notice.score,
            "reasons": list(notice.reasons),
        },
        "commenter": {"known": notice.known, "approved": notice.approved_before},
        "actions": dict(notice.links),
    }
    return json.dumps(payload, ensure_ascii=False).encode()


def slack_text(text: str) -> str:
    """Text as Slack's message format shows it literally: `&`, `<` and `>` escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_url(url: str) -> str:
    """A URL inside Slack's `<...>` link syntax: escaped, and with `|` (which would start the
    link's label) percent-encoded."""
    return slack_text(url).replace("|", "%7C")


@dataclass(frozen=True, slots=True)
class Digest:
    """Many comments in one message: those decided while notifications were collapsed (a
    wave, `kind` "held"), or the spam folder's latest (`kind` "spam", with "Not spam" links)."""

    kind: str
    batch: str  # when it was cut: part of its Message-ID, the same on a retry
    items: tuple[Notice, ...]
    more: int = 0  # beyond those listed

    @property
    def total(self) -> int:
        return len(self.items) + self.more

    @property
    def headline(self) -> str:
        count = f"{self.total} comment{'s' if self.total != 1 else ''}"
        if self.kind == "spam":
            return f"Spam folder: {count} marked as spam"
        return f"{count} to moderate (notifications collapsed during a wave)"


def digest_email(
    digest: Digest, mail_from: str, recipients: Sequence[str], domain: str
) -> EmailMessage:
    message_id = f"<digest-{digest.kind}-{digest.batch}@{domain}>"
    msg = _message(f"[Comments] {digest.headline}", mail_from, recipients, message_id)
    context = {"digest": digest, "labels": LINK_LABELS}
    msg.set_content(_render("digest.txt", context))
    msg.add_alternative(_render("digest.html", context), subtype="html")
    return msg


def digest_webhook_body(digest: Digest) -> bytes:
    """The digest as JSON, with a Slack-compatible `text` (escaped as `webhook_body`'s)."""
    lines = [slack_text(digest.headline)]
    for notice in digest.items:
        author, title = slack_text(notice.name), slack_text(notice.title or notice.article)
        links = " ".join(f"<{slack_url(url)}|{LINK_LABELS[a]}>" for a, url in notice.links)
        lines.append(f"• {author} on {title}: {notice.status}, score {notice.score} {links}")
    if digest.more:
        lines.append(f"…and {digest.more} more")
    payload = {
        "event": f"digest.{digest.kind}",
        "text": "\n".join(lines),
        "comments": [
            {
                "id": n.comment_id,
                "article": n.article,
                "title": n.title or None,
                "author_name": n.name,
                "text": n.text,
                "status": n.status,
                "score": n.score,
                "reasons": list(n.reasons),
                "actions": dict(n.links),
            }
            for n in digest.items
        ],
        "more": digest.more,
    }
    return json.dumps(payload, ensure_ascii=False).encode()


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>` over "<timestamp>.<body>": receivers reject forgeries and, by checking
    the timestamp, replays."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def privacy_email(
    mail_from: str, to: str, link: str, site: str, hours: int, *, message_id: str
) -> EmailMessage:
    """The link to a commenter's own data, sent to their own address only."""
    msg = _message(f"[Comments] Your comments on {site}", mail_from, [to], message_id)
    msg.set_content(_render("privacy.txt", {"site": site, "hours": hours, "link": link}))
    return msg


def signin_email(
    mail_from: str, to: str, link: str, site: str, minutes: int, *, message_id: str
) -> EmailMessage:
    """A moderator's one-time sign-in link, sent to their own address only."""
    msg = _message(f"[Comments] Sign in to moderate {site}", mail_from, [to], message_id)
    msg.set_content(_render("signin.txt", {"site": site, "minutes": minutes, "link": link}))
    return msg


def reply_email(
    mail_from: str,
    to: str,
    *,
    reply_name: str,
    reply_text: str,
    article: str,
    article_url: str,
    unsubscribe_url: str,
    message_id: str,
) -> EmailMessage:
    """Tell a commenter someone replied to them; one-click unsubscribe per RFC 8058."""
    subject = f"[Comments] {reply_name} replied to your comment on {article}"
    msg = _message(subject, mail_from, [to], message_id)
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    context = {
        "reply_name": reply_name,
        "reply_text": reply_text,
        "article": article,
        "article_url": article_url,
        "unsubscribe_url": unsubscribe_url,
    }
    msg.set_content(_render("reply.txt", context))
    return msg


def _message(
    subject: str, mail_from: str, recipients: Sequence[str], message_id: str
) -> EmailMessage:
    """The headers every email carries. The Message-ID is the caller's, derived from the job,
    so a retried delivery carries the same one and receivers drop the copy. An address with
    a non-ASCII local part needs a UTF-8 message (sent with SMTPUTF8): RFC 2047 encoding,
    which the default policy would apply, is not allowed inside an address."""
    sender = _addresses(mail_from)
    to = tuple(address for value in recipients for address in _addresses(value))
    utf8 = not all(address.addr_spec.isascii() for address in (*sender, *to))
    policy = email.policy.SMTPUTF8 if utf8 else email.policy.default
    # RFC 5322's 998-character line limit: the default 78 folds even ordinary subjects, and
    # some clients then show the fold's leading space.
    msg = EmailMessage(policy=policy.clone(max_line_length=998))
    msg["Subject"] = " ".join(subject.split())[:200]
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id
    return msg


def _addresses(value: str) -> tuple[Address, ...]:
    """The addresses in a header value, each as any server takes it: an internationalised
    domain in its IDNA (`xn--`) form when the local part is ASCII. A non-ASCII local part
    keeps the address in Unicode; only an SMTPUTF8 server takes it either way."""
    out: list[Address] = []
    header = cast(AddressHeader, _HEADERS("To", value))  # typeshed: a BaseHeader
    for address in header.addresses:
        domain = address.domain
        if address.username.isascii() and not domain.isascii():
            try:
                domain = idna.encode(domain, uts46=True).decode("ascii")
            except idna.IDNAError:  # its message quotes the domain
                raise ValueError("an address has an invalid internationalised domain") from None
        out.append(Address(address.display_name, address.username, domain))
    return tuple(out)


def needs_smtputf8(msg: EmailMessage) -> bool:
    """Whether an address (not a display name, which can be encoded) is non-ASCII."""
    return any(
        not address.addr_spec.isascii()
        for name in ("From", "To", "Cc")
        for address in getattr(msg[name], "addresses", ())
    )


_HEADERS = HeaderRegistry()


@functools.cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("workers", "templates"),
        # HTML parts are escaped; plain-text parts are text, where escaping would show.
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _render(name: str, context: Mapping[str, object]) -> str:
    return _templates().get_template(name).render(context).rstrip("\n")


def confirmation_email(
    mail_from: str,
    to: str,
    *,
    name: str,
    text: str,
    article: str,
    link: str,
    site: str,
    hours: int,
    message_id: str,
) -> EmailMessage:
    """Ask an address's owner whether a comment posted with it is theirs (trust needs proof)."""
    subject = f"[Comments] Did you write this comment on {site}?"
    msg = _message(subject, mail_from, [to], message_id)
    context = {
        "name": name,
        "text": text,
        "article": article,
        "link": link,
        "site": site,
        "hours": hours,
    }
    msg.set_content(_render("confirm.txt", context))
    return msg
