"""RQ job functions: thin, idempotent, ids in and out (RQ stores arguments in clear)."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import redis
from rq import get_current_job

from service import keys, privacy_data, privacy_pages
from service.logs import request_id
from service.moderation_links import LinkSigner
from service.privacy import EmailVault
from service.records import as_text, decode_record
from service.settings import Settings
from service.unsubscribe import token_for
from workers import decisions, delivery, learning, messages
from workers.textmodel import TextModel

SENT_MEMORY_S = 30 * 24 * 3600
log = logging.getLogger(__name__)


@functools.cache
def _runtime() -> tuple[Settings, learning.ModelSource]:
    """Settings and the text model, loaded once per worker process."""
    return Settings.from_env(), learning.ModelSource(TextModel.load())


def warm_up() -> None:
    """Load settings and the model now, in the parent: forked work-horses and pool workers
    inherit them instead of loading the model again for every job."""
    _runtime()


def _connection() -> redis.Redis:
    job = get_current_job()
    assert job is not None, "job functions run inside an RQ worker"
    # Log lines of this job carry the id of the request that caused it.
    request_id.set(job.meta.get("request_id"))
    return job.connection


def process_comment(comment_id: str) -> str:
    """Score and decide an accepted comment; returns its final status. Idempotent."""
    settings, models = _runtime()
    conn = _connection()
    status = decisions.process(conn, comment_id, models.get(conn), settings, time.time())
    log.info("comment %s decided: %s", comment_id, status)
    return status


def notify_email(comment_id: str) -> str:
    """Email the moderators about a decided comment, once."""

    def deliver(settings: Settings, notice: messages.Notice) -> None:
        domain = urlsplit(settings.public_url).hostname or "localhost"
        recipients = settings.moderator_emails
        delivery.send_email(
            settings, messages.moderation_email(notice, settings.mail_from, recipients, domain)
        )

    return _notify_once("email", comment_id, deliver)


def notify_webhook(comment_id: str) -> str:
    """POST a signed notification about a decided comment to the webhook, once."""

    def deliver(settings: Settings, notice: messages.Notice) -> None:
        body = messages.webhook_body(notice)
        delivery.post_webhook(settings, f"comment.{notice.status}", comment_id, body)

    return _notify_once("webhook", comment_id, deliver)


def _notify_once(
    channel: str, comment_id: str, deliver: Callable[[Settings, messages.Notice], None]
) -> str:
    settings = _runtime()[0]
    conn = _connection()
    notice = _notice(conn, comment_id, settings)
    if notice is None:
        return "gone"
    marker = keys.notified(channel, comment_id)
    if conn.exists(marker):
        return "already sent"
    deliver(settings, notice)
    conn.hincrby(keys.stats(), f"notification_{channel}_sent", 1)
    # A crash between delivering and this line delivers again: email carries the same
    # Message-ID and the webhook the same X-Comments-Delivery, so receivers can drop it.
    conn.set(marker, f"{time.time():.0f}", ex=SENT_MEMORY_S)
    return "sent"


def notify_reply(reply_id: str) -> str:
    """Tell a comment's author about a published reply, if they asked to be told. Once."""
    settings = _runtime()[0]
    conn = _connection()
    reply = decode_record(conn.hgetall(keys.comment(reply_id)))
    parent_id = reply.get("parent_id")
    parent = decode_record(conn.hgetall(keys.comment(parent_id))) if parent_id else {}
    if not parent_id or parent.get("notify_replies") != "1" or not parent.get("email_sealed"):
        return "not requested"
    if reply.get("email_hash") == parent.get("email_hash"):
        return "own reply"
    if conn.hget(keys.email_reputation(parent["email_hash"]), "unsubscribed"):
        return "unsubscribed"
    marker = keys.notified("reply", reply_id)
    if conn.exists(marker):
        return "already sent"
    address = EmailVault(settings.secret_key).open(parent["email_sealed"], parent_id)
    domain = urlsplit(settings.public_url).hostname or "localhost"
    token = token_for(settings.secret_key, parent_id)
    msg = messages.reply_email(
        settings.mail_from,
        address,
        reply_name=reply["name"],
        reply_text=reply["comment"],
        article=parent.get("title") or parent["article"],
        article_url=parent.get("article_url", ""),
        unsubscribe_url=f"{settings.public_url}/unsubscribe/{token}",
        message_id=f"<{reply_id}.reply@{domain}>",
    )
    delivery.send_email(settings, msg)
    conn.hincrby(keys.stats(), "notification_reply_sent", 1)
    conn.set(marker, f"{time.time():.0f}", ex=SENT_MEMORY_S)
    return "sent"


def send_privacy_link(request_id: str) -> str:
    """Mail a commenter the link to their own data; nothing if the address has no comments."""
    settings = _runtime()[0]
    conn = _connection()
    raw = conn.get(keys.privacy_request(request_id))
    if raw is None:
        return "expired"
    email_hash = as_text(raw)
    address = None
    for cid in privacy_data.comment_ids(conn, email_hash):
        sealed = conn.hget(keys.comment(cid), "email_sealed")
        if sealed:
            address = EmailVault(settings.secret_key).open(as_text(sealed), cid)
            break
    if address is None:
        return "unknown address"  # the requester was told the same either way
    link = f"{settings.public_url}/privacy/{privacy_pages.sign(settings.secret_key, request_id)}"
    site = urlsplit(settings.public_url).hostname or "this site"
    hours = settings.privacy_link_max_age_s // 3600
    delivery.send_email(
        settings, messages.privacy_email(settings.mail_from, address, link, site, hours)
    )
    return "sent"


# What a moderator can do from a notification, by the comment's state.
LINK_ACTIONS = {"held": ("approve", "reject", "spam"), "approved": ("reject", "spam")}


def _notice(conn: redis.Redis, comment_id: str, settings: Settings) -> messages.Notice | None:
    raw = conn.hgetall(keys.comment(comment_id))
    if not raw:
        return None
    record = decode_record(raw)
    approved = conn.hget(keys.email_reputation(record["email_hash"]), "approved")
    # The count before this comment: an approval already counted itself.
    before = int(approved or 0) - (record["status"] == "approved")
    signer = LinkSigner(settings.secret_key, settings.old_secret_keys)
    now, base = time.time(), f"{settings.public_url}/moderate/"
    links = [
        (action, base + signer.issue(comment_id, action, now, settings.link_max_age_s))
        for action in LINK_ACTIONS.get(record["status"], ())
    ]
    return messages.Notice.of(record, max(before, 0), links)
