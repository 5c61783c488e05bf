"""Deciding an accepted comment: load its context, score it (pure), write the outcome.

Runs inside the job. Reads happen in one round trip; every write (status, publishing,
reputation, flood and duplicate markers) happens in one transaction guarded by WATCH on the
comment, so a re-run or a concurrent duplicate run changes nothing a second time. The same
transaction spends the comment's proof of work (WATCHed too: of two comments with one
solution, exactly one decides with it; the other finds it "replayed").

When they are on, Akismet and the external moderation hook are asked before scoring, each
with a deadline (they are the only network calls in a decision), at the same time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import redis
from redis.exceptions import WatchError

from service.core import form_token as tokens
from service.core import keys, pow
from service.core.records import as_text, decode_record
from service.core.sealing import EmailVault
from service.core.settings import Settings
from service.core.signing import Purpose
from service.core.statuses import Status
from service.queueing import jobs
from service.store import articles, bans, transitions
from service.store.reputation import website_domain
from workers import akismet, digests, moderation_hook
from workers.moderation_hook import HookVerdict
from workers.scoring import (
    APPROVE,
    HOLD,
    SPAM,
    Candidate,
    Reason,
    Reputation,
    Result,
    Signals,
    decide,
    score,
)
from workers.textmodel import TextModel

STATUS_BY_VERDICT = {APPROVE: Status.APPROVED, HOLD: Status.HELD, SPAM: Status.SPAM}
DUPLICATE_WINDOW_S = 24 * 3600
# Tries when a watched key changes under a decision (another run, a moderator, a replay).
ATTEMPTS = 5
log = logging.getLogger(__name__)
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
    pow_nonce: str | None  # the proof of work this comment spends, when it has a valid one
    notified: str  # notifications sent one by one in this window (beyond the rate: digests)
    notified_before: str  # ... and in the window before it
    now_in_window: float  # how far into its window `now` is, from 0 to 1

    @classmethod
    def of(cls, record: dict[str, str], now: float, settings: Settings) -> ContextKeys:
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
            pow_nonce=(
                keys.token_used(Purpose.POW, record["pow_nonce"])
                if record.get("pow") == pow.VALID and record.get("pow_nonce")
                else None
            ),
            notified=keys.notify_count(int(now // settings.notify_rate[1])),
            notified_before=keys.notify_count(int(now // settings.notify_rate[1]) - 1),
            now_in_window=(now % settings.notify_rate[1]) / settings.notify_rate[1],
        )


@dataclass(frozen=True, slots=True)
class Outside:
    """What the services outside were asked (None: off)."""

    akismet: str | None = None
    hook: HookVerdict | None = None


def process(
    conn: redis.Redis, comment_id: str, model: TextModel, settings: Settings, now: float
) -> str:
    """Decide one comment; return its final status (or 'missing'). Safe to run repeatedly."""
    asked: list[Outside] = []  # the services outside are asked once, whatever the retries
    for _ in range(ATTEMPTS):
        try:
            return _decide(conn, comment_id, model, settings, now, asked)
        except WatchError:  # changed under us: decided meanwhile, or the solution spent
            continue
    # Still changing: the status as it stands (the sweep retries a comment left pending).
    return as_text(conn.hget(keys.comment(comment_id), "status") or b"")


def _decide(
    conn: redis.Redis,
    comment_id: str,
    model: TextModel,
    settings: Settings,
    now: float,
    asked: list[Outside],
) -> str:
    key = keys.comment(comment_id)
    with conn.pipeline(transaction=True) as pipe:
        pipe.watch(key)  # type: ignore[no-untyped-call]
        record = decode_record(pipe.hgetall(key))
        if not record:  # erased since it was accepted: nothing to decide, nothing to sweep
            conn.zrem(keys.pending(), comment_id)
            return "missing"
        if record.get("status") != Status.PENDING:
            return record.get("status", "")  # decided by an earlier run
        ctx = ContextKeys.of(record, now, settings)
        if ctx.pow_nonce:
            pipe.watch(ctx.pow_nonce)  # type: ignore[no-untyped-call]
        signals, reputation, notified = _load_context(conn, ctx, comment_id, record)
        if not asked:
            asked.append(ask_outside(settings, record, reputation))
        signals = with_outside(signals, asked[0])
        policy = settings.policy
        candidate = Candidate(record["name"], record["comment"], record.get("website", ""))
        started = time.perf_counter()
        result = decide(score(candidate, model, policy, signals, reputation), reputation, policy)
        if result.verdict == APPROVE and articles.premoderated(conn, record["article"]):
            result = replace(result, verdict=HOLD, reasons=(*result.reasons, PREMODERATED))
        if result.verdict != SPAM and _banned(conn, record, now):
            # COMMENTS_BANNED_COMMENTS=hold let it in: a moderator decides.
            result = replace(result, verdict=HOLD, reasons=(*result.reasons, BANNED))
        scoring_s = time.perf_counter() - started
        pipe.multi()
        _write(conn, pipe, record, ctx, result, settings, now, notified)
        if signals.pow == pow.REPLAYED:  # on the record too: moderators see why
            pipe.hset(key, "pow", signals.pow)
        _remember_outside(pipe, comment_id, asked[0])
        if asks_owner(result, reputation, settings):
            jobs.enqueue(conn, settings, jobs.SEND_CONFIRMATION, [comment_id], pipeline=pipe)
        pipe.hincrby(keys.stats(), f"verdict_{STATUS_BY_VERDICT[result.verdict]}", 1)
        pipe.hincrbyfloat(keys.stats(), "scoring_seconds_sum", scoring_s)
        pipe.execute()
    return STATUS_BY_VERDICT[result.verdict]


# An admin chose to review every comment on the article before it is published.
PREMODERATED = Reason(
    "premoderated", 0.0, "Every comment on this article is held for review", holds=True
)


BANNED = Reason("banned", 0.0, "The commenter is banned", holds=True)


def _banned(conn: redis.Redis, record: dict[str, str], now: float) -> bool:
    """The commenter, or the IP range or website domain they wrote from, is banned."""
    with conn.pipeline(transaction=False) as pipe:  # one trip, as the commenter's alone was
        pipe.exists(keys.ban(record.get("email_hash", "")))
        pipe.hgetall(keys.network_bans())
        banned, listed = pipe.execute()
    if banned:
        return True
    return bans.of(listed, now).match(record.get("ip", ""), record.get("website"), now) is not None


def ask_outside(settings: Settings, record: dict[str, str], reputation: Reputation) -> Outside:
    """Akismet's and the moderation hook's verdicts, asked at the same time (each has its
    own deadline); None for a service that is off."""

    # Advice with a deadline: whatever goes wrong asking (a bug included) is "unavailable",
    # never a failed decision.
    def check() -> str | None:
        if not akismet.enabled(settings):
            return None
        try:
            address = None
            if settings.akismet_send_email and record.get("email_sealed"):
                address = EmailVault(settings.secret_key).open(record["email_sealed"], record["id"])
            return akismet.comment_check(settings, record, address)
        except Exception:
            log.exception("asking Akismet failed")
            return akismet.UNAVAILABLE

    def hook() -> HookVerdict | None:
        if not moderation_hook.enabled(settings):
            return None
        try:
            return moderation_hook.ask(settings, record, reputation.trusted)
        except Exception:
            log.exception("asking the moderation hook failed")
            return HookVerdict(moderation_hook.UNAVAILABLE)

    if not (akismet.enabled(settings) and moderation_hook.enabled(settings)):
        return Outside(check(), hook())
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="outside") as pool:
        checked, hooked = pool.submit(check), pool.submit(hook)
        return Outside(checked.result(), hooked.result())


def with_outside(signals: Signals, outside: Outside) -> Signals:
    hook = outside.hook
    return replace(
        signals,
        akismet=outside.akismet,
        hook=hook.verdict if hook else None,
        hook_reasons=hook.reasons if hook else (),
    )


def _remember_outside(pipe: redis.client.Pipeline, comment_id: str, outside: Outside) -> None:
    """Kept on the record: Akismet's verdict decides which report a moderator's verdict
    sends back; both show what the decision rested on."""
    fields = {"akismet": outside.akismet or ""}
    if outside.hook is not None:
        fields |= {"hook": outside.hook.verdict, "hook_reasons": json.dumps(outside.hook.reasons)}
    fields = {name: value for name, value in fields.items() if value}
    if fields:
        pipe.hset(keys.comment(comment_id), mapping=fields)  # type: ignore[arg-type]


def _load_context(
    conn: redis.Redis, ctx: ContextKeys, comment_id: str, record: dict[str, str]
) -> tuple[Signals, Reputation, float]:
    optional = [ctx.ip, ctx.domain, ctx.flood_ip, ctx.ip_hour, ctx.nonce, ctx.pow_nonce]
    with conn.pipeline(transaction=False) as pipe:
        pipe.hmget(ctx.email, ["approved", "spam"])
        pipe.mget([k or "-" for k in optional])  # "-" is never written: reads as None
        counted = [ctx.flood_email, ctx.exact, ctx.near, ctx.site_minute]
        pipe.mget([*counted, ctx.notified, ctx.notified_before])
        pipe.sismember(ctx.browsers, record.get("browser") or "-")
        (approved, email_spam), opt, counts, known = pipe.execute()
    flood_email, exact, near, site, notified, notified_before = counts
    ip_spam, domain_spam, flood_ip, ip_hour, nonce_owner, pow_owner = (
        as_text(v) if v else None for v in opt
    )

    def someone_else(owner: object) -> bool:
        return owner is not None and as_text(owner) != comment_id

    token = record.get("token_verdict") or tokens.MISSING
    if token == tokens.VALID and someone_else(nonce_owner):
        token = tokens.REPLAYED
    proof = record.get("pow") or None
    if proof == pow.VALID and someone_else(pow_owner):
        proof = pow.REPLAYED
    signals = Signals(
        form_token=token,
        token_age_s=float(record["token_age"]) if record.get("token_age") else None,
        honeypot=bool(record.get("honeypot")),
        flood=someone_else(flood_ip) or someone_else(flood_email),
        duplicate="exact" if someone_else(exact) else "near" if someone_else(near) else None,
        ip_last_hour=int(ip_hour or 0),
        site_last_minute=int(site or 0),
        pow=proof,
    )
    # An approved comment its author edited left the approved count when it went back to
    # pending (service/store/own_comments.py): it still speaks for its commenter.
    approved_before = 1 if record.get("approved_before_edit") == "1" else 0
    reputation = Reputation(
        approved=int(approved or 0) + approved_before,
        proven=bool(known) or bool(record.get("confirmed_at")),
        spam_from_email=int(email_spam or 0),
        spam_from_ip=int(ip_spam or 0),
        spam_from_domain=int(domain_spam or 0),
    )
    lately = notified_lately(notified, notified_before, ctx.now_in_window)
    return signals, reputation, lately


def notified_lately(current: bytes | None, before: bytes | None, now_in_window: float) -> float:
    """Notifications sent one by one in the last window's length: this window's count and the
    share of the previous one still inside that length (a sliding window approximated from two
    fixed ones), so a wave that straddles a boundary cannot get twice the rate."""
    return int(current or 0) + int(before or 0) * (1 - now_in_window)


def _write(
    conn: redis.Redis,
    pipe: redis.client.Pipeline,
    record: dict[str, str],
    ctx: ContextKeys,
    result: Result,
    settings: Settings,
    now: float,
    notified: float,
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
    if ctx.pow_nonce:  # spent until it expires anyway; a replay finds this comment's id
        left = int(record.get("pow_expires") or now) - int(now)
        pipe.set(ctx.pow_nonce, comment_id, ex=max(left, 1) + 60, nx=True)
    notify(conn, pipe, settings, comment_id, status, ctx, notified, now)


def notify(
    conn: redis.Redis,
    pipe: redis.client.Pipeline,
    settings: Settings,
    comment_id: str,
    status: Status,
    ctx: ContextKeys,
    notified: float,
    now: float,
) -> None:
    """One notification job per channel, until COMMENTS_NOTIFY_RATE is reached in the
    current window; beyond it (a spam wave), the comment waits for the channel's next digest
    (workers/digests.py). Concurrent decisions may send a few more than the rate: it is a
    flood guard, not a quota."""
    channels = notification_channels(status, settings)
    if not channels:
        return
    allowed, window = settings.notify_rate
    if notified >= allowed:
        for channel in channels:
            pipe.zadd(keys.digest_queue(channel), {comment_id: now})
        return
    for channel in channels:
        jobs.enqueue(conn, settings, jobs.NOTIFY_BY_CHANNEL[channel], [comment_id], pipeline=pipe)
    pipe.incr(ctx.notified)
    pipe.expire(ctx.notified, window * 2)


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
    return digests.channels(settings)


def text_digests(text: str) -> tuple[str, str]:
    """Digests of the exact text and of its letters only (catches spacing/number variants)."""
    exact = hashlib.sha256(" ".join(text.split()).encode()).hexdigest()[:32]
    near = hashlib.sha256(_NOT_LETTERS.sub("", text.casefold()).encode()).hexdigest()[:32]
    return exact, near
