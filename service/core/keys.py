"""Every Redis key the project writes, in one place.

Comment data is grouped per article with a Redis Cluster hash tag (`{tag}`), so one article's
comments, thread index and version live in one slot and could move to a cluster unchanged.
A comment id starts with its article's tag, so the key is derived from the id alone.
RQ's own keys (rq:queue:*, rq:job:*) are RQ's business and are not built here.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from functools import lru_cache

PREFIX = "cm"
# 64 bits: collisions between articles need ~4 billion articles (birthday bound).
TAG_HEX = 16
RANDOM_HEX = 16
COMMENT_ID_RE = re.compile(rf"^[0-9a-f]{{{TAG_HEX}}}-[0-9a-f]{{{RANDOM_HEX}}}$")


# Cached: a comment takes three keys of its article (SHA-256 costs ten times a cache hit),
# and a site's comments go to far fewer articles than this holds.
@lru_cache(maxsize=4096)
def article_tag(article: str) -> str:
    return hashlib.sha256(article.encode()).hexdigest()[:TAG_HEX]


def new_comment_id(article: str, suffix: str | None = None) -> str:
    """A fresh id, or a deterministic one when `suffix` (16 hex chars) is given."""
    return f"{article_tag(article)}-{suffix or secrets.token_hex(RANDOM_HEX // 2)}"


def is_comment_id(value: str) -> bool:
    return COMMENT_ID_RE.match(value) is not None


def comment(comment_id: str) -> str:
    """Hash holding one comment record."""
    tag, _, rest = comment_id.partition("-")
    return f"{PREFIX}:{{{tag}}}:c:{rest}"


def thread(article: str) -> str:
    """Sorted set of the article's approved comment ids, scored by creation time."""
    return f"{PREFIX}:{{{article_tag(article)}}}:thread"


def thread_version(article: str) -> str:
    """Counter bumped whenever the article's public thread changes; drives ETags and caches."""
    return f"{PREFIX}:{{{article_tag(article)}}}:ver"


def article_settings(article: str) -> str:
    """Hash of an article's settings admins chose: closed ("1" closed, "0" kept open against
    the site default), premoderate ("1": every comment held)."""
    return f"{PREFIX}:{{{article_tag(article)}}}:settings"


def featured(article: str) -> str:
    """Sorted set of an article's comments moderators featured, by creation time (a comment
    that left the thread stays listed until unfeatured, and is not shown)."""
    return f"{PREFIX}:{{{article_tag(article)}}}:featured"


def thread_roots(article: str) -> str:
    """Sorted set of the approved comments shown at the top level (no parent, or a parent that
    is not public), scored by creation time: a page of the thread is a range of it."""
    return f"{PREFIX}:{{{article_tag(article)}}}:roots"


def thread_replies(comment_id: str) -> str:
    """Sorted set of a comment's approved direct replies, scored by creation time; kept while
    the comment itself is hidden, so its replies return under it when it is shown again."""
    tag, _, rest = comment_id.partition("-")
    return f"{PREFIX}:{{{tag}}}:replies:{rest}"


def thread_indexed(article: str) -> str:
    """Set while roots and replies hold the whole thread. Writers that bypass `transitions`
    (imports) delete it; the next read builds both again from the thread."""
    return f"{PREFIX}:{{{article_tag(article)}}}:indexed"


def thread_top(article: str) -> str:
    """Sorted set of the same comments as thread_roots, scored by their votes (the Wilson lower
    bound, service/core/votes.py): `sort=top` reads ranges of it."""
    return f"{PREFIX}:{{{article_tag(article)}}}:top"


def votes(comment_id: str) -> str:
    """Hash of the votes on one comment: a keyed hash of each reader (never their key) to
    `up` or `down`. The comment's own record keeps the counts."""
    tag, _, rest = comment_id.partition("-")
    return f"{PREFIX}:{{{tag}}}:votes:{rest}"


def reports(comment_id: str) -> str:
    """Hash of the reports on one comment: a keyed hash of each reader (never their key) to
    the report (reason, statement, when). The comment's record keeps the count."""
    tag, _, rest = comment_id.partition("-")
    return f"{PREFIX}:{{{tag}}}:reports:{rest}"


def comment_prefix(comment_id: str) -> str:
    """What comment(other) starts with for any comment of the same article: scripts that move
    a comment's replies build their record keys from it (same hash tag, same slot)."""
    return comment(comment_id).rpartition(":")[0] + ":"


# --- import and export (comments import / comments export) ------------------------------------


def imported(article: str) -> str:
    """Set of the ids an import ever wrote for the article: importing the file again skips
    them even after erasure removed the comment (an erased commenter stays erased)."""
    return f"{PREFIX}:{{{article_tag(article)}}}:imported"


def comment_pattern(article: str | None = None) -> str:
    """SCAN pattern matching every comment record, or one article's."""
    tag = article_tag(article) if article is not None else "*"
    return f"{PREFIX}:{{{tag}}}:c:*"


# --- RQ job ids: deterministic, so enqueueing the same work twice is one job ------------------


def process_job(comment_id: str) -> str:
    return f"process-{comment_id}"


def notify_job(channel: str, comment_id: str) -> str:
    """A moderator notification about one comment on one channel (email, webhook)."""
    return f"notify-{channel}-{comment_id}"


def reply_job(comment_id: str) -> str:
    """The notice to a parent comment's author that this reply was published."""
    return f"reply-{comment_id}"


def privacy_link_job(request_id: str) -> str:
    return f"privacy-link-{request_id}"


def confirmation_job(comment_id: str) -> str:
    """The "was this you?" mail to the owner of a known address a comment used."""
    return f"confirm-{comment_id}"


# --- moderation and reputation (site-wide indexes, not per article) ---------------------------


def held() -> str:
    """Sorted set of comments waiting for a moderator, by creation time."""
    return f"{PREFIX}:moderation:held"


def reported() -> str:
    """Sorted set of comments readers reported past the flagging threshold, by when they
    crossed it: the moderators' Reported queue. Any moderator decision takes them out."""
    return f"{PREFIX}:moderation:reported"


def spam_folder() -> str:
    """Sorted set of comments judged spam: kept, hidden, restorable."""
    return f"{PREFIX}:moderation:spam"


def approved_folder() -> str:
    """Sorted set of every published comment, site-wide, by creation time (the workspace's
    Approved queue; each article's thread is its own set)."""
    return f"{PREFIX}:moderation:approved"


def rejected_folder() -> str:
    """Sorted set of comments a moderator rejected: kept, hidden, restorable."""
    return f"{PREFIX}:moderation:rejected"


def article_folder(article: str, status: str) -> str:
    """Sorted set of one article's comments in a status's folder (held, spam, approved,
    rejected), by creation time: a queue filtered by article reads it, not the whole folder."""
    return f"{PREFIX}:{{{article_tag(article)}}}:folder:{status}"


def article_folders_built() -> str:
    """Set once every comment in a site-wide folder was also listed in its article's folder
    (data from before those existed); from then on every writer keeps both."""
    return f"{PREFIX}:moderation:article-folders"


def email_reputation(email_hash: str) -> str:
    """Hash {approved, spam} for one commenter, by the keyed HMAC of their address."""
    return f"{PREFIX}:rep:email:{email_hash}"


def trusted_browsers(email_hash: str) -> str:
    """Set of the browsers (fingerprints of their commenter keys) from which a commenter had
    a comment approved: the proof their trust needs."""
    return f"{PREFIX}:rep:browsers:{email_hash}"


def confirmation_asked(email_hash: str) -> str:
    """Set while a "was this you?" mail to a commenter is recent: one an hour, at most."""
    return f"{PREFIX}:rep:asked:{email_hash}"


def ip_reputation(ip: str) -> str:
    return f"{PREFIX}:rep:ip:{ip}"


def domain_reputation(domain: str) -> str:
    return f"{PREFIX}:rep:domain:{domain}"


def flood(kind: str, value: str) -> str:
    """Short-lived marker of the last comment from one IP or commenter."""
    return f"{PREFIX}:flood:{kind}:{value}"


def duplicate(kind: str, digest: str) -> str:
    """Marker of recently seen text, exact or normalised ("near")."""
    return f"{PREFIX}:dup:{kind}:{digest}"


def ip_hour(ip: str, hour: int) -> str:
    return f"{PREFIX}:rate:ip:{ip}:{hour}"


def site_minute(minute: int) -> str:
    return f"{PREFIX}:rate:site:{minute}"


def token_used(purpose: str, nonce: str) -> str:
    """Set when a signed token is spent: by which comment (form tokens; a second use is a
    replay) or which moderator (one-click links are single use). Kept until it expires."""
    return f"{PREFIX}:used:{purpose}:{nonce}"


def notified(channel: str, comment_id: str) -> str:
    """Set once a notification about a comment went out on a channel (delivery dedupe)."""
    return f"{PREFIX}:notified:{channel}:{comment_id}"


def pending() -> str:
    """Sorted set of accepted, undecided comments by (last) enqueue time: what the sweep
    re-enqueues if a job was lost."""
    return f"{PREFIX}:pending"


def sweep_lock() -> str:
    return f"{PREFIX}:sweep:lock"


def audit_log() -> str:
    """Stream of every moderation action: who, when, what, from which state."""
    return f"{PREFIX}:audit"


def labels() -> str:
    """Stream of moderator-labelled examples (spam/ham) for the text model to learn from."""
    return f"{PREFIX}:labels"


def by_email(email_hash: str) -> str:
    """Set of a commenter's comment ids, by the keyed HMAC of their address (export/erase)."""
    return f"{PREFIX}:by-email:{email_hash}"


def commenter_ids() -> str:
    """Hash: the workspace's opaque commenter id (a keyed hash of the address's HMAC, not
    reversible) to that HMAC, filled as the workspace shows commenters."""
    return f"{PREFIX}:commenters"


def ban(email_hash: str) -> str:
    """A banned commenter (JSON: by, at, until); a ban for a duration expires with the key.
    The API checks it (EXISTS) before storing a comment."""
    return f"{PREFIX}:ban:email:{email_hash}"


def network_bans() -> str:
    """Hash of the bans by IP range or website domain ("range:203.0.113.0/24",
    "domain:example.com") to JSON (by, at, until); what admins typed, never a client's IP.
    Small: each API process keeps a copy (service/store/bans.py)."""
    return f"{PREFIX}:ban:list"


def commenter_notes(email_hash: str) -> str:
    """Stream of moderators' private notes on a commenter (ts, actor, text)."""
    return f"{PREFIX}:notes:{email_hash}"


def retention() -> str:
    """Sorted set of comments still holding IP and user agent, by creation time."""
    return f"{PREFIX}:retention"


def privacy_request(request_id: str) -> str:
    """A pending export/erase request: the commenter's HMAC under a random id, short-lived."""
    return f"{PREFIX}:privacy:{request_id}"


def privacy_requests_of(email_hash: str) -> str:
    """Set of a commenter's open privacy requests, so erasure can delete them too."""
    return f"{PREFIX}:privacy:by-email:{email_hash}"


def rate(kind: str, value: str, window: int | str) -> str:
    """Fixed-window counter for edge rate limits."""
    return f"{PREFIX}:limit:{kind}:{value}:{window}"


def model_weights() -> str:
    """The text model as learned from moderators: bias and float32 weights, as bytes."""
    return f"{PREFIX}:model:weights"


def model_version() -> str:
    """Counter bumped on each learned update; workers reload when it moves."""
    return f"{PREFIX}:model:version"


def labels_cursor() -> str:
    """The last labelled example the learner has applied."""
    return f"{PREFIX}:model:cursor"


def learn_lock() -> str:
    return f"{PREFIX}:model:lock"


def stats() -> str:
    """Hash of counters the workers keep for /metrics (verdicts, actions, notifications)."""
    return f"{PREFIX}:stats"


# --- upgrades and backups: the stored data's format (comments migrate, comments backup) -------


def data_format() -> str:
    """The format of everything stored here, an integer: written on a fresh start and by
    `comments migrate`; every process checks it before it starts."""
    return f"{PREFIX}:format"


def migration_cursor(number: int | str) -> str:
    """Where an interrupted migration stopped (its SCAN cursor), so a re-run resumes there."""
    return f"{PREFIX}:migration:{number}:cursor"


def legacy_form_token_used(nonce: str) -> str:
    """Format 0's marker of a spent form token (format 1: token_used("form", nonce))."""
    return f"{PREFIX}:token:{nonce}"


def legacy_link_used(nonce: str) -> str:
    """Format 0's marker of a used one-click link; format 0's links no longer verify."""
    return f"{PREFIX}:link:used:{nonce}"


# --- spam defence: Akismet feedback, notification digests (issue 12) -------------------------


def akismet_job(label: str, comment_id: str) -> str:
    """Telling Akismet a moderator's verdict on one comment (`spam` or `ham`)."""
    return f"akismet-{label}-{comment_id}"


def digest_job(channel: str, batch: str) -> str:
    """One digest on one channel (email, webhook, or spam-email / spam-webhook): `batch` is
    when it was cut."""
    return f"digest-{channel}-{batch}"


def notify_count(window: int) -> str:
    """Moderator notifications sent one by one in a window; beyond the rate, digests."""
    return f"{PREFIX}:digest:count:{window}"


def digest_queue(channel: str) -> str:
    """Sorted set of comments waiting for the next digest on a channel, by decision time."""
    return f"{PREFIX}:digest:queue:{channel}"


def digest_due(channel: str) -> str:
    """Set while a channel's last digest is recent: one per interval, at most."""
    return f"{PREFIX}:digest:due:{channel}"


def spam_digest_since() -> str:
    """Where the next spam-folder digest starts (creation time of the comments it lists)."""
    return f"{PREFIX}:digest:spam-since"


def digest_lock() -> str:
    return f"{PREFIX}:digest:lock"


# --- intake cost per request (issue 16) -------------------------------------------------------


def comment_article_tag(comment_id: str) -> str:
    """The article tag a comment id starts with: article_tag(article) without hashing again."""
    return comment_id.partition("-")[0]


# --- the moderators' workspace (issue 13): sign-in links and sessions -------------------------


def signin_request(request_id: str) -> str:
    """A pending sign-in: who it is for (JSON: label, role, the keyed hash of the address it is
    mailed to), under a random id the emailed link names. Deleted when the link is used."""
    return f"{PREFIX}:signin:{request_id}"


def signin_job(request_id: str) -> str:
    return f"signin-link-{request_id}"


def session(token_digest: str) -> str:
    """A signed-in moderator's session (hash: actor, role, created), by the SHA-256 of the
    cookie's value: Redis never holds a value that opens a session. Expires when idle."""
    return f"{PREFIX}:session:{token_digest}"


def sessions() -> str:
    """Set of every session's digest, so an admin can end them all at once."""
    return f"{PREFIX}:sessions"


def live_channel() -> str:
    """Pub/sub channel of every article's live events (service/store/live.py): each API process
    subscribes once and fans the events out to its readers' streams."""
    return f"{PREFIX}:live"


def live_events(article: str) -> str:
    """Capped stream of the article's recent live events, so a reader who reconnects with
    Last-Event-ID gets what they missed (in the article's slot)."""
    return f"{PREFIX}:{{{article_tag(article)}}}:live"
