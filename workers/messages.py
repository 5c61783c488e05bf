"""What moderators are told about a comment: pure builders for email and webhook.

Built from an explicit allow-list of record fields: never the address, its HMAC or the IP.
"""

from __future__ import annotations

import email.policy
import functools
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

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

    @classmethod
    def of(
        cls, record: Mapping[str, str], approved_before: int, links: Sequence[tuple[str, str]] = ()
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
        )

    @property
    def headline(self) -> str:
        return HEADLINES.get(self.status, self.status)

    @property
    def commenter(self) -> str:
        if self.approved_before:
            return f"known commenter, {self.approved_before} approved comments"
        return "first-time commenter"

    def lines(self) -> list[str]:
        author = self.name + (f" ({self.website})" if self.website else "")
        article = self.title or self.article
        return [
            f"{self.headline}: a comment by {author}",
            f"Article: {article}" + (f" <{self.article_url}>" if self.article_url else ""),
            f"Commenter: {self.commenter}",
            f"Verdict: {self.status}, score {self.score}",
        ]


def moderation_email(
    notice: Notice, mail_from: str, recipients: Sequence[str], domain: str
) -> EmailMessage:
    # RFC 5322's 998-character line limit: the default 78 folds even ordinary subjects, and
    # some clients then show the fold's leading space.
    msg = EmailMessage(policy=email.policy.default.clone(max_line_length=998))
    subject = f"[Comments] {notice.headline}: {notice.name} on {notice.title or notice.article}"
    msg["Subject"] = " ".join(subject.split())[:200]
    msg["From"] = mail_from
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False)
    # Deterministic: a retried delivery carries the same id, which mail clients deduplicate.
    msg["Message-ID"] = f"<{notice.comment_id}.{notice.status}@{domain}>"
    context = {"notice": notice, "labels": LINK_LABELS}
    msg.set_content(_render("moderation.txt", context))
    msg.add_alternative(_render("moderation.html", context), subtype="html")
    return msg


def webhook_body(notice: Notice) -> bytes:
    summary = "\n".join([*notice.lines(), *(f"• {r}" for r in notice.reasons), "", notice.text])
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
        "commenter": {"known": notice.approved_before > 0, "approved": notice.approved_before},
        "actions": dict(notice.links),
    }
    return json.dumps(payload, ensure_ascii=False).encode()


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>` over "<timestamp>.<body>": receivers reject forgeries and, by checking
    the timestamp, replays."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def privacy_email(mail_from: str, to: str, link: str, site: str, hours: int) -> EmailMessage:
    """The link to a commenter's own data, sent to their own address only."""
    msg = EmailMessage(policy=email.policy.default.clone(max_line_length=998))
    msg["Subject"] = f"[Comments] Your comments on {site}"
    msg["From"] = mail_from
    msg["To"] = to
    msg["Date"] = formatdate(localtime=False)
    msg.set_content(_render("privacy.txt", {"site": site, "hours": hours, "link": link}))
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
    msg = EmailMessage(policy=email.policy.default.clone(max_line_length=998))
    msg["Subject"] = " ".join(
        f"[Comments] {reply_name} replied to your comment on {article}".split()
    )[:200]
    msg["From"] = mail_from
    msg["To"] = to
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id
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
