"""Deciding an accepted comment: load its context, score it (pure), write the outcome.

Runs inside the job. Reads happen in one round trip; every write (status, publishing,
reputation, flood and duplicate markers) happens in one transaction guarded by WATCH on the
comment, so a re-run or a concurrent duplicate run changes nothing a second time.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass

import redis
from redis.exceptions import WatchError

from service.core import form_token as tokens
from service.core import keys
from service.core.records import as_text, decode_record
from service.core.settings import Settings
from service.core.signing import Purpose
from service.core.statuses import Status
from service.queueing import jobs
from service.store import transitions
from service.store.reputation import website_domain
from workers.scoring import (
    APPROVE,
    HOLD,
    SPAM,
    Candidate,
    Reputation,
    Result,
    Signals,
    decide,
    score,
)
from workers.textmodel import TextModel

STATUS_BY_VERDICT = {APPROVE: Status.APPROVED, HOLD: Status.HELD, SPAM: Status.SPAM}
DUPLICATE_WINDOW_S = 24 * 3600
_NOT_LETTERS = re.compile(r"[\W\d_]+")


@dataclass(frozen=True, slots=True)
class ContextKeys:
    """Every key the decision reads or writes for one comment."""

    email: str
    browsers: str
    ip: str | None
    domain: str | None
    flood_ip: str | None
    flood_email: str
    exact: str
    near: str
    ip_hour: str | None
    site_minute: str
    nonce: str | None

    @classmethod
    def of(cls, record: dict[str, str], now: float) -> ContextKeys:
        ip = record.get("ip") or None
        domain = website_domain(record.get("website", ""))
        exact, near = text_digests(record.get("comment", ""))
        nonce = record.get("token_nonce") or None
        return cls(
            email=keys.email_reputation(record["email_hash"]),
            browsers=keys.trusted_browsers(record["email_hash"]),
            ip=keys.ip_reputation(ip) if ip else None,
            domain=keys.domain_reputation(domain) if domain else None,
            flood_ip=keys.flood("ip", ip) if ip else None,
            flood_email=keys.flood("email", record["email_hash"]),
            exact=keys.duplicate("exact", exact),
            near=keys.duplicate("near", near),
            ip_hour=keys.ip_hour(ip, int(now // 3600)) if ip else None,
            site_minute=keys.site_minute(int(now // 60)),
            nonce=keys.token_used(Purpose.FORM, nonce) if nonce else None,
        )


def process(
    conn: redis.Redis, comment_id: str, model: TextModel, settings: Settings, now: float
) -> str:
    """Decide one comment; return its final status (or 'missing'). Safe to run repeatedly."""
    key = keys.comment(comment_id)
    with conn.pipeline(transaction=True) as pipe:
        try:
            pipe.watch(key)  # type: ignore[no-untyped-call]
            record = decode_record(pipe.hgetall(key))
            if not record:  # erased since it was accepted: nothing to decide, nothing to sweep
                conn.zrem(keys.pending(), comment_id)
                return "missing"
            if record.get("status") != Status.PENDING:
                return record.get("status", "")  # decided by an earlier run
            ctx = ContextKeys.of(record, now)
            signals, reputation = _load_context(conn, ctx, comment_id, record)
            policy = settings.policy
            candidate = Candidate(record["name"], record["comment"], record.get("website", ""))
            started = time.perf_counter()
            result = decide(
                score(candidate, model, policy, signals, reputation), reputation, policy
            )
            scoring_s = time.perf_counter() - started
            pipe.multi()
            _write(conn, pipe, record, ctx, result, settings, now)
            if asks_owner(result, reputation, settings):
                jobs.enqueue(conn, settings, jobs.SEND_CONFIRMATION, [comment_id], pipeline=pipe)
            pipe.hincrby(keys.stats(), f"verdict_{STATUS_BY_VERDICT[result.verdict]}", 1)
            pipe.hincrbyfloat(keys.stats(), "scoring_seconds_sum", scoring_s)
            pipe.execute()
        except WatchError:  # another run decided it between our read and our write
            return as_text(conn.hget(key, "status") or b"")
    return STATUS_BY_VERDICT[result.verdict]


def _load_context(
    conn: redis.Redis, ctx: ContextKeys, comment_id: str, record: dict[str, str]
) -> tuple[Signals, Reputation]:
    optional = [ctx.ip, ctx.domain, ctx.flood_ip, ctx.ip_hour, ctx.nonce]
    with conn.pipeline(transaction=False) as pipe:
        pipe.hmget(ctx.email, ["approved", "spam"])
        pipe.mget([k or "-" for k in optional])  # "-" is never written: reads as None
        pipe.mget([ctx.flood_email, ctx.exact, ctx.near, ctx.site_minute])
        pipe.sismember(ctx.browsers, record.get("browser") or "-")
        (approved, email_spam), opt, (flood_email, exact, near, site), known = pipe.execute()
    ip_spam, domain_spam, flood_ip, ip_hour, nonce_owner = (as_text(v) if v else None for v in opt)

    def someone_else(owner: object) -> bool:
        return owner is not None and as_text(owner) != comment_id

    token = record.get("token_verdict") or tokens.MISSING
    if token == tokens.VALID and someone_else(nonce_owner):
        token = tokens.REPLAYED
    signals = Signals(
        form_token=token,
        token_age_s=float(record["token_age"]) if record.get("token_age") else None,
        honeypot=bool(record.get("honeypot")),
        flood=someone_else(flood_ip) or someone_else(flood_email),
        duplicate="exact" if someone_else(exact) else "near" if someone_else(near) else None,
        ip_last_hour=int(ip_hour or 0),
        site_last_minute=int(site or 0),
    )
    reputation = Reputation(
        approved=int(approved or 0),
        proven=bool(known) or bool(record.get("confirmed_at")),
        spam_from_email=int(email_spam or 0),
        spam_from_ip=int(ip_spam or 0),
        spam_from_domain=int(domain_spam or 0),
    )
    return signals, reputation


def _write(
    conn: redis.Redis,
    pipe: redis.client.Pipeline,
    record: dict[str, str],
    ctx: ContextKeys,
    result: Result,
    settings: Settings,
    now: float,
) -> None:
    status = STATUS_BY_VERDICT[result.verdict]
    comment_id = record["id"]
    transitions.move(conn, pipe, settings, record, status, by="scorer", now=now)
    pipe.hset(
        keys.comment(comment_id),
        mapping={
            "score": f"{result.score:.2f}",
            "reasons": json.dumps(result.as_dict()["reasons"]),
        },
    )
    if ctx.flood_ip:
        pipe.set(ctx.flood_ip, comment_id, ex=settings.policy.flood_window_s)
    pipe.set(ctx.flood_email, comment_id, ex=settings.policy.flood_window_s)
    pipe.set(ctx.exact, comment_id, ex=DUPLICATE_WINDOW_S, nx=True)
    pipe.set(ctx.near, comment_id, ex=DUPLICATE_WINDOW_S, nx=True)
    for counter, ttl in ((ctx.ip_hour, 7200), (ctx.site_minute, 120)):
        if counter:
            pipe.incr(counter)
            pipe.expire(counter, ttl)
    if ctx.nonce:
        pipe.set(ctx.nonce, comment_id, ex=settings.form_token_max_age_s, nx=True)
    for channel in notification_channels(status, settings):
        kind = jobs.NOTIFY_BY_CHANNEL[channel]
        jobs.enqueue(conn, settings, kind, [comment_id], pipeline=pipe)


def asks_owner(result: Result, reputation: Reputation, settings: Settings) -> bool:
    """A comment held because its known address came without proof: the address's owner can
    prove it by email (the job mails at most once an hour per address)."""
    unproven = reputation.approved > 0 and not reputation.proven
    return result.verdict == HOLD and unproven and settings.sends_mail


def notification_channels(status: Status, settings: Settings) -> list[str]:
    """Where moderators hear about a decision. Spam is never notified one by one."""
    if settings.notify == "none" or status is Status.SPAM:
        return []
    if settings.notify == "held" and status is not Status.HELD:
        return []
    channels = []
    if settings.moderator_emails and settings.sends_mail:
        channels.append("email")
    if settings.webhook_url:
        channels.append("webhook")
    return channels


def text_digests(text: str) -> tuple[str, str]:
    """Digests of the exact text and of its letters only (catches spacing/number variants)."""
    exact = hashlib.sha256(" ".join(text.split()).encode()).hexdigest()[:32]
    near = hashlib.sha256(_NOT_LETTERS.sub("", text.casefold()).encode()).hexdigest()[:32]
    return exact, near
