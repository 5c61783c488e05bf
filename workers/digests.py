"""Digests: no notification flood in a spam wave, and a daily look into the spam folder.

- Beyond COMMENTS_NOTIFY_RATE, a decision does not notify one by one: it puts the comment in
  its channel's digest queue (workers/decisions.py). `schedule`, run by the sweep beside
  every worker, cuts a batch from each queue at most once per COMMENTS_DIGEST_INTERVAL and
  enqueues one digest job per channel for it. A wave of 500 held comments is then
  COMMENTS_NOTIFY_RATE notifications and a digest per interval, not 500.
- Every COMMENTS_SPAM_DIGEST_INTERVAL (a day), the comments the spam folder received are
  sent in one digest with a one-click "Not spam" link each: nobody else looks in there.

Digests go where notifications go (moderators' email, the webhook), from the same
allow-listed Notice (never the address or the IP). Each is a job with retries; a sent-marker
stops a retried job from sending twice.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import redis

from service.core import keys, links
from service.core.records import as_text, decode_record
from service.core.settings import Settings
from service.core.statuses import Status
from service.queueing import jobs
from workers import delivery, messages
from workers.runtime import Runtime

# What one digest lists; the rest is counted ("...and 450 more").
MAX_ITEMS = 50
# The spam digest covers comments created up to this long before it is cut, so that comments
# still being decided are in the next one rather than in none.
SPAM_LAG_S = 300
SENT_MEMORY_S = 30 * 24 * 3600
HELD_ACTIONS = {"held": ("approve", "reject", "spam"), "approved": ("reject", "spam")}


def channels(settings: Settings) -> list[str]:
    """Where moderators are told about comments: their mailboxes, the webhook."""
    out = []
    if settings.moderator_emails and settings.sends_mail:
        out.append("email")
    if settings.webhook_url:
        out.append("webhook")
    return out


def schedule(conn: redis.Redis, settings: Settings, now: float) -> list[str]:
    """Enqueue the digests that are due; returns their job ids. One scheduler at a time
    across all workers (a lock that expires if its holder dies)."""
    if not conn.set(keys.digest_lock(), "1", nx=True, ex=60):
        return []
    try:
        due = [*_wave_digests(conn, settings, now), *_spam_digests(conn, settings, now)]
        if due:
            with conn.pipeline(transaction=True) as pipe:
                for kind, batch in due:
                    jobs.enqueue(conn, settings, kind, [batch], pipeline=pipe)
                pipe.execute()
        return [kind.job_id(batch) for kind, batch in due]
    finally:
        conn.delete(keys.digest_lock())


def _wave_digests(
    conn: redis.Redis, settings: Settings, now: float
) -> list[tuple[jobs.JobKind, str]]:
    due = []
    for channel in ("email", "webhook"):
        queue = keys.digest_queue(channel)
        if channel not in channels(settings):
            conn.delete(queue)  # the channel was turned off: nobody to tell
            continue
        if not conn.zcard(queue):
            continue
        # At most one digest per interval; the first of a wave goes at once.
        if conn.set(keys.digest_due(channel), "1", nx=True, ex=settings.digest_interval_s):
            # Everything queued up to now, in milliseconds (job ids take no "."; whole
            # seconds would give two digests of one second the same id, and skip the second).
            due.append((jobs.DIGEST_BY_CHANNEL[channel], str(math.ceil(now * 1000))))
    return due


def _spam_digests(
    conn: redis.Redis, settings: Settings, now: float
) -> list[tuple[jobs.JobKind, str]]:
    interval, targets = settings.spam_digest_interval_s, channels(settings)
    if interval <= 0 or not targets:
        return []
    until = int(now) - SPAM_LAG_S
    since = conn.get(keys.spam_digest_since())
    if since is None:  # the first worker ever: start counting from now
        conn.set(keys.spam_digest_since(), until)
        return []
    start = int(as_text(since))
    if until - start < interval:
        return []
    conn.set(keys.spam_digest_since(), until)
    batch = f"{start}-{until}"  # job ids allow letters, digits, - and _
    return [(jobs.SPAM_DIGEST_BY_CHANNEL[channel], batch) for channel in targets]


def wave_digest(conn: redis.Redis, rt: Runtime, channel: str, batch: str) -> str:
    """Send one channel's digest of the comments queued up to `batch` (a time in ms)."""
    marker = keys.notified(f"digest-{channel}", batch)
    if conn.exists(marker):
        return "already sent"
    queue = keys.digest_queue(channel)
    ids = [as_text(i) for i in conn.zrangebyscore(queue, "-inf", int(batch) / 1000)]
    notices = _notices(conn, rt, ids, lambda status: HELD_ACTIONS.get(status, ()))
    if notices:
        digest = messages.Digest(
            "held", batch, tuple(notices[:MAX_ITEMS]), len(notices[MAX_ITEMS:])
        )
        _deliver(rt.settings, channel, digest)
    with conn.pipeline(transaction=True) as pipe:
        if ids:
            pipe.zrem(queue, *ids)
        pipe.set(marker, f"{time.time():.0f}", ex=SENT_MEMORY_S)
        if notices:
            pipe.hincrby(keys.stats(), f"digest_{channel}_sent", 1)
        pipe.execute()
    return f"sent {len(notices)}" if notices else "nothing to send"


def spam_digest(conn: redis.Redis, rt: Runtime, channel: str, batch: str) -> str:
    """Send one channel's digest of the comments that reached the spam folder in `batch`
    ("<since>-<until>", creation times), each with a one-click "Not spam" link."""
    marker = keys.notified(f"spam-digest-{channel}", batch)
    if conn.exists(marker):
        return "already sent"
    since, _, until = batch.partition("-")
    ids = [
        as_text(i) for i in conn.zrangebyscore(keys.spam_folder(), f"({float(since)}", float(until))
    ]
    notices = _notices(conn, rt, ids, lambda status: ("ham",) if status == Status.SPAM else ())
    notices = [n for n in notices if n.status == Status.SPAM]  # restored meanwhile: not news
    if notices:
        digest = messages.Digest(
            "spam", batch, tuple(notices[:MAX_ITEMS]), len(notices[MAX_ITEMS:])
        )
        _deliver(rt.settings, channel, digest)
        conn.hincrby(keys.stats(), f"spam_digest_{channel}_sent", 1)
    conn.set(marker, f"{time.time():.0f}", ex=SENT_MEMORY_S)
    return f"sent {len(notices)}" if notices else "nothing to send"


def _notices(
    conn: redis.Redis,
    rt: Runtime,
    ids: Sequence[str],
    actions: Callable[[str], Sequence[str]],
) -> list[messages.Notice]:
    """The comments still there, as notices with signed links for their current status."""
    with conn.pipeline(transaction=False) as pipe:
        for comment_id in ids:
            pipe.hgetall(keys.comment(comment_id))
        records = [decode_record(raw) for raw in pipe.execute()]
    found = [r for r in records if r.get("status")]
    with conn.pipeline(transaction=False) as pipe:
        for record in found:
            pipe.hget(keys.email_reputation(record["email_hash"]), "approved")
        approved = pipe.execute()
    now = time.time()
    out = []
    for record, count in zip(found, approved, strict=True):
        # The count before this comment: an approval already counted itself.
        before = max(int(count or 0) - (record["status"] == Status.APPROVED), 0)
        urls = [
            (action, links.moderation_url(rt.signer, rt.settings, record["id"], action, now))
            for action in actions(record["status"])
        ]
        workspace = links.workspace_url(rt.settings, record["id"])
        out.append(messages.Notice.of(record, before, urls, workspace))
    return out


def _digest(kind: str, batch: str, notices: Sequence[messages.Notice]) -> messages.Digest:
    return messages.Digest(kind, batch, tuple(notices[:MAX_ITEMS]), len(notices[MAX_ITEMS:]))


def _deliver(settings: Settings, channel: str, digest: messages.Digest) -> None:
    if channel == "email":
        domain = _mail_domain(settings)
        msg = messages.digest_email(digest, settings.mail_from, settings.moderator_emails, domain)
        delivery.send_email(settings, msg)
    else:
        body = messages.digest_webhook_body(digest)
        delivery_id = f"digest-{digest.kind}-{digest.batch}"
        delivery.post_webhook(settings, f"digest.{digest.kind}", delivery_id, body)


def _mail_domain(settings: Settings) -> str:
    return urlsplit(settings.public_url).hostname or "localhost"
