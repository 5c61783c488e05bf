"""RQ job functions: thin, idempotent, ids in and out (RQ stores arguments in clear).

Each function runs one job kind declared in `service/queueing/jobs.py`; `@KIND.runs` checks
the binding when this module is imported.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import redis
from rq import get_current_job

from service.core import keys, links
from service.core.logs import request_id
from service.core.records import as_text, decode_record
from service.core.sealing import EmailVault
from service.core.settings import Settings
from service.queueing import jobs
from service.store import privacy_data, sessions
from workers import akismet, decisions, delivery, digests, messages, runtime

SENT_MEMORY_S = 30 * 24 * 3600
# What a moderator can do from a notification, by the comment's state.
LINK_ACTIONS = {"held": ("approve", "reject", "spam"), "approved": ("reject", "spam")}
log = logging.getLogger(__name__)


def _connection() -> redis.Redis:
    job = get_current_job()
    assert job is not None, "job functions run inside an RQ worker"
    # Log lines of this job carry the id of the request that caused it.
    request_id.set(job.meta.get("request_id"))
    return job.connection


@jobs.PROCESS_COMMENT.runs
def process_comment(comment_id: str) -> str:
    """Score and decide an accepted comment; returns its final status. Idempotent."""
    rt = runtime.current()
    conn = _connection()
    status = decisions.process(conn, comment_id, rt.models.get(conn), rt.settings, time.time())
    log.info("comment %s decided: %s", comment_id, status)
    return status


@jobs.NOTIFY_EMAIL.runs
def notify_email(comment_id: str) -> str:
    """Email the moderators about a decided comment, once."""

    def deliver(settings: Settings, notice: messages.Notice) -> None:
        msg = messages.moderation_email(
            notice, settings.mail_from, settings.moderator_emails, _mail_domain(settings)
        )
        delivery.send_email(settings, msg)

    return _notify_once("email", comment_id, deliver)


@jobs.NOTIFY_WEBHOOK.runs
def notify_webhook(comment_id: str) -> str:
    """POST a signed notification about a decided comment to the webhook, once."""

    def deliver(settings: Settings, notice: messages.Notice) -> None:
        body = messages.webhook_body(notice)
        delivery.post_webhook(settings, f"comment.{notice.status}", comment_id, body)

    return _notify_once("webhook", comment_id, deliver)


def _notify_once(
    channel: str, comment_id: str, deliver: Callable[[Settings, messages.Notice], None]
) -> str:
    rt = runtime.current()
    conn = _connection()
    notice = _notice(conn, comment_id, rt)
    if notice is None:
        return "gone"
    if conn.exists(keys.notified(channel, comment_id)):
        return "already sent"
    deliver(rt.settings, notice)
    return _sent(conn, channel, comment_id)


def _sent(conn: redis.Redis, channel: str, comment_id: str) -> str:
    """Count a delivery and remember it, so a retried job does not deliver again. A crash
    before this runs delivers twice: email carries the same Message-ID and the webhook the
    same X-Comments-Delivery, so receivers can drop the copy."""
    conn.hincrby(keys.stats(), f"notification_{channel}_sent", 1)
    conn.set(keys.notified(channel, comment_id), f"{time.time():.0f}", ex=SENT_MEMORY_S)
    return "sent"


@jobs.NOTIFY_REPLY.runs
def notify_reply(reply_id: str) -> str:
    """Tell a comment's author about a published reply, if they asked to be told. Once."""
    rt = runtime.current()
    settings = rt.settings
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
    if conn.exists(keys.notified("reply", reply_id)):
        return "already sent"
    address = EmailVault(settings.secret_key).open(parent["email_sealed"], parent_id)
    msg = messages.reply_email(
        settings.mail_from,
        address,
        reply_name=reply["name"],
        reply_text=reply["comment"],
        article=parent.get("title") or parent["article"],
        article_url=parent.get("article_url", ""),
        unsubscribe_url=links.unsubscribe_url(rt.signer, settings, parent_id, time.time()),
        message_id=f"<{reply_id}.reply@{_mail_domain(settings)}>",
    )
    delivery.send_email(settings, msg)
    return _sent(conn, "reply", reply_id)


@jobs.SEND_PRIVACY_LINK.runs
def send_privacy_link(request_id: str) -> str:
    """Mail a commenter the link to their own data; nothing if the address has no comments."""
    rt = runtime.current()
    settings = rt.settings
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
    link = links.privacy_url(rt.signer, settings, request_id, time.time())
    site = urlsplit(settings.public_url).hostname or "this site"
    hours = settings.privacy_link_max_age_s // 3600
    message_id = f"<{request_id}.privacy@{_mail_domain(settings)}>"  # the same on a retry
    msg = messages.privacy_email(
        settings.mail_from, address, link, site, hours, message_id=message_id
    )
    delivery.send_email(settings, msg)
    return "sent"


@jobs.SEND_SIGNIN_LINK.runs
def send_signin_link(request_id: str) -> str:
    """Mail a moderator their one-time link to the workspace, to their own address only."""
    rt = runtime.current()
    settings = rt.settings
    conn = _connection()
    wanted = sessions.signin_recipient(conn, request_id)
    if wanted is None:
        return "expired"
    vault = EmailVault(settings.secret_key)
    address = next((a for a in settings.moderator_emails if vault.email_hash(a) == wanted), None)
    if address is None:
        return "no longer a moderator"
    ttl = conn.ttl(keys.signin_request(request_id))
    link = links.signin_url(rt.signer, settings, request_id, time.time(), max(int(ttl), 1))
    site = urlsplit(settings.public_url).hostname or "this site"
    message_id = f"<{request_id}.signin@{_mail_domain(settings)}>"  # the same on a retry
    minutes = max(links.SIGNIN_MAX_AGE_S // 60, 1)
    msg = messages.signin_email(
        settings.mail_from, address, link, site, minutes, message_id=message_id
    )
    delivery.send_email(settings, msg)
    return "sent"


def _notice(conn: redis.Redis, comment_id: str, rt: runtime.Runtime) -> messages.Notice | None:
    raw = conn.hgetall(keys.comment(comment_id))
    if not raw:
        return None
    record = decode_record(raw)
    approved = conn.hget(keys.email_reputation(record["email_hash"]), "approved")
    # The count before this comment: an approval already counted itself.
    before = int(approved or 0) - (record["status"] == "approved")
    now = time.time()
    actions = [
        (action, links.moderation_url(rt.signer, rt.settings, comment_id, action, now))
        for action in LINK_ACTIONS.get(record["status"], ())
    ]
    workspace = links.workspace_url(rt.settings, comment_id)
    return messages.Notice.of(record, max(before, 0), actions, workspace)


def _mail_domain(settings: Settings) -> str:
    return urlsplit(settings.public_url).hostname or "localhost"


# A "was this you?" mail is a nuisance if it can be triggered at will: one per address an hour.
CONFIRMATION_INTERVAL_S = 3600


@jobs.SEND_CONFIRMATION.runs
def send_confirmation(comment_id: str) -> str:
    """Ask the owner of a known address whether a held comment posted with it is theirs."""
    rt = runtime.current()
    settings = rt.settings
    conn = _connection()
    record = decode_record(conn.hgetall(keys.comment(comment_id)))
    if record.get("status") != "held" or record.get("confirmed_at"):
        return "not needed"
    if not record.get("email_sealed"):
        return "no address"
    asked = keys.confirmation_asked(record["email_hash"])
    first = conn.set(asked, comment_id, nx=True, ex=CONFIRMATION_INTERVAL_S)
    if not first and as_text(conn.get(asked) or b"") != comment_id:  # a retry of ours goes on
        return "asked recently"
    address = EmailVault(settings.secret_key).open(record["email_sealed"], comment_id)
    site = urlsplit(settings.public_url).hostname or "this site"
    msg = messages.confirmation_email(
        settings.mail_from,
        address,
        name=record["name"],
        text=record["comment"],
        article=record.get("title") or record["article"],
        link=links.confirm_url(rt.signer, settings, comment_id, time.time()),
        site=site,
        hours=settings.privacy_link_max_age_s // 3600,
        message_id=f"<{comment_id}.confirm@{_mail_domain(settings)}>",
    )
    delivery.send_email(settings, msg)
    conn.hincrby(keys.stats(), "notification_confirmation_sent", 1)
    return "sent"


@jobs.AKISMET_SPAM.runs
def akismet_submit_spam(comment_id: str) -> str:
    """A moderator marked a comment spam that Akismet had not: tell Akismet (submit-spam)."""
    return _akismet_feedback("spam", comment_id)


@jobs.AKISMET_HAM.runs
def akismet_submit_ham(comment_id: str) -> str:
    """A moderator restored a comment Akismet had called spam: tell Akismet (submit-ham)."""
    return _akismet_feedback("ham", comment_id)


# The status a moderator's verdict leaves a comment in: a later, different verdict wins.
_AFTER_VERDICT = {"spam": "spam", "ham": "approved"}


def _akismet_feedback(label: str, comment_id: str) -> str:
    rt = runtime.current()
    settings = rt.settings
    conn = _connection()
    if not akismet.enabled(settings):
        return "off"
    record = decode_record(conn.hgetall(keys.comment(comment_id)))
    if record.get("status") != _AFTER_VERDICT[label]:
        return "changed since"  # erased, or the moderator changed their mind
    # Akismet asks for reports of its mistakes only.
    said_spam = record.get("akismet") in (akismet.SPAM, akismet.DISCARD)
    if said_spam == (label == akismet.SPAM):
        return "Akismet agreed"
    marker = keys.notified(f"akismet-{label}", comment_id)
    if conn.exists(marker):
        return "already sent"
    address = None
    if settings.akismet_send_email and record.get("email_sealed"):
        address = EmailVault(settings.secret_key).open(record["email_sealed"], comment_id)
    akismet.submit(settings, label, record, address)
    conn.hincrby(keys.stats(), f"akismet_{label}_submitted", 1)
    conn.set(marker, f"{time.time():.0f}", ex=SENT_MEMORY_S)
    return "sent"


@jobs.DIGEST_EMAIL.runs
def digest_email(batch: str) -> str:
    """Email the moderators one digest of the comments collapsed during a wave."""
    return digests.wave_digest(_connection(), runtime.current(), "email", batch)


@jobs.DIGEST_WEBHOOK.runs
def digest_webhook(batch: str) -> str:
    """POST one digest of the comments collapsed during a wave to the webhook."""
    return digests.wave_digest(_connection(), runtime.current(), "webhook", batch)


@jobs.SPAM_DIGEST_EMAIL.runs
def spam_digest_email(batch: str) -> str:
    """Email the moderators what the spam folder received, with "Not spam" links."""
    return digests.spam_digest(_connection(), runtime.current(), "email", batch)


@jobs.SPAM_DIGEST_WEBHOOK.runs
def spam_digest_webhook(batch: str) -> str:
    """POST what the spam folder received, with "Not spam" links, to the webhook."""
    return digests.spam_digest(_connection(), runtime.current(), "webhook", batch)
