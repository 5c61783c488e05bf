"""RQ job functions: thin, idempotent, ids in and out (RQ stores arguments in clear)."""

from __future__ import annotations

import functools
import time
from urllib.parse import urlsplit

import redis
from rq import get_current_job

from service import keys
from service.settings import Settings
from workers import decisions, delivery, messages
from workers.textmodel import TextModel

SENT_MEMORY_S = 30 * 24 * 3600


@functools.cache
def _runtime() -> tuple[Settings, TextModel]:
    """Settings and the text model, loaded once per worker process."""
    return Settings.from_env(), TextModel.load()


def warm_up() -> None:
    """Load settings and the model now, in the parent: forked work-horses and pool workers
    inherit them instead of loading the model again for every job."""
    _runtime()


def _connection() -> redis.Redis:
    job = get_current_job()
    assert job is not None, "job functions run inside an RQ worker"
    return job.connection


def process_comment(comment_id: str) -> str:
    """Score and decide an accepted comment; returns its final status. Idempotent."""
    settings, model = _runtime()
    return decisions.process(_connection(), comment_id, model, settings, time.time())


def notify_email(comment_id: str) -> str:
    """Email the moderators about a decided comment, once."""
    settings = _runtime()[0]
    conn = _connection()
    notice = _notice(conn, comment_id)
    if notice is None:
        return "gone"
    marker = keys.notified("email", comment_id)
    if conn.exists(marker):
        return "already sent"
    domain = urlsplit(settings.public_url).hostname or "localhost"
    msg = messages.moderation_email(notice, settings.mail_from, settings.moderator_emails, domain)
    delivery.send_email(settings, msg)
    # A crash between sending and this line resends with the same Message-ID.
    conn.set(marker, f"{time.time():.0f}", ex=SENT_MEMORY_S)
    return "sent"


def notify_webhook(comment_id: str) -> str:
    """POST a signed notification about a decided comment to the webhook, once."""
    settings = _runtime()[0]
    conn = _connection()
    notice = _notice(conn, comment_id)
    if notice is None:
        return "gone"
    marker = keys.notified("webhook", comment_id)
    if conn.exists(marker):
        return "already sent"
    body = messages.webhook_body(notice)
    delivery.post_webhook(settings, f"comment.{notice.status}", comment_id, body)
    conn.set(marker, f"{time.time():.0f}", ex=SENT_MEMORY_S)
    return "sent"


def _notice(conn: redis.Redis, comment_id: str) -> messages.Notice | None:
    raw = conn.hgetall(keys.comment(comment_id))
    if not raw:
        return None
    record = {decisions.as_str(k): decisions.as_str(v) for k, v in raw.items()}
    approved = conn.hget(keys.email_reputation(record["email_hash"]), "approved")
    # The count before this comment: an approval already counted itself.
    before = int(approved or 0) - (record["status"] == "approved")
    return messages.Notice.of(record, max(before, 0))
