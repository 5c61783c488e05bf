"""The spam scorer: pure, layered, explainable. No I/O: the caller passes everything in.

Each layer adds points with a reason a moderator can read; the total maps to a verdict.
Request signals come first because they catch most spam in practice (a honeypot caught 97.6 %
of a 332,834-comment WordPress corpus); text rules and the model catch what gets past them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from service.core.form_token import EXPIRED, FORGED, MISSING, REPLAYED, VALID
from service.core.settings import Policy
from workers.textmodel import TextModel

APPROVE, HOLD, SPAM = "approve", "hold", "spam"

# Public link shorteners: they hide the destination, which is what spam needs.
SHORTENERS = frozenset(
    "bit.ly goo.gl tinyurl.com t.co ow.ly is.gd buff.ly rebrand.ly cutt.ly shorturl.at "
    "tiny.cc rb.gy t.ly s.id v.gd bl.ink lnkd.in adf.ly shorte.st".split()
)
COMMERCIAL_WORDS = frozenset(
    "buy cheap casino loan loans seo viagra cialis porn bitcoin crypto forex discount "
    "followers replica pharmacy escort".split()
)
_LINK = re.compile(r"(?:https?://|www\.)[^\s<>\"'\]\[]+", re.IGNORECASE)
_BARE_DOMAIN = re.compile(r"\b[a-z0-9-]+\.(?:com|net|org|info|biz|ru|xyz|top|ly|gl)\b", re.I)
_MARKUP_LINK = re.compile(r"\[url[=\]]|<a\s+href", re.IGNORECASE)
_REPEAT = re.compile(r"(.)\1{5,}")


@dataclass(frozen=True, slots=True)
class Candidate:
    name: str
    comment: str
    website: str = ""


@dataclass(frozen=True, slots=True)
class Signals:
    """What the request and recent traffic say; None fields mean "not known"."""

    form_token: str | None = None  # valid | expired | forged | missing | replayed
    token_age_s: float | None = None
    honeypot: bool = False
    flood: bool = False
    duplicate: str | None = None  # exact | near
    ip_last_hour: int = 0
    site_last_minute: int = 0


@dataclass(frozen=True, slots=True)
class Reputation:
    approved: int = 0  # earlier approved comments from this address (email HMAC)
    # The comment comes from a browser this commenter had a comment approved from, or they
    # confirmed the address by email. Without proof, a known address is anyone who knows it.
    proven: bool = False
    spam_from_email: int = 0
    spam_from_ip: int = 0
    spam_from_domain: int = 0

    @property
    def trusted(self) -> bool:
        return self.approved > 0 and self.proven


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    points: float
    text: str


@dataclass(frozen=True, slots=True)
class Result:
    score: float
    verdict: str
    reasons: tuple[Reason, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        return {
            "score": round(self.score, 2),
            "verdict": self.verdict,
            "reasons": [{"code": r.code, "points": r.points, "text": r.text} for r in self.reasons],
        }


def score(
    candidate: Candidate,
    model: TextModel,
    policy: Policy,
    signals: Signals | None = None,
    reputation: Reputation | None = None,
) -> Result:
    """Score one comment; `signals` None means scoring text alone (offline evaluation)."""
    reasons = [
        *(request_reasons(signals, policy) if signals is not None else ()),
        *reputation_reasons(reputation or Reputation()),
        *content_reasons(candidate, policy),
        text_reason(model, candidate.comment),
    ]
    total = sum(r.points for r in reasons)
    verdict = SPAM if total >= policy.spam_at else HOLD if total >= policy.hold_at else APPROVE
    return Result(total, verdict, tuple(r for r in reasons if r.points))


def decide(result: Result, reputation: Reputation, policy: Policy) -> Result:
    """Apply moderation policy on top of the scorer's conclusion."""
    strong = any(r.points >= policy.strong_points for r in result.reasons)
    if reputation.approved and not reputation.proven:
        unproven = Reason(
            "unproven_address",
            0,
            "Known address, but not from a browser it was approved from, nor confirmed by "
            "email: treated as a new commenter.",
        )
        result = Result(result.score, result.verdict, (*result.reasons, unproven))
    if result.verdict == HOLD and policy.auto_approve_trusted and reputation.trusted and not strong:
        reason = Reason("trusted_approve", 0, "Trusted commenter, no strong spam signal.")
        return Result(result.score, APPROVE, (*result.reasons, reason))
    if result.verdict == APPROVE and policy.hold_first_time and not reputation.trusted:
        reason = Reason("first_comment", 0, "First comment from this commenter: held once.")
        return Result(result.score, HOLD, (*result.reasons, reason))
    return result


def request_reasons(s: Signals, policy: Policy) -> Iterable[Reason]:
    if s.honeypot:
        if s.form_token == VALID:
            # Conclusive with a valid token: outweighs any text or reputation credit.
            yield Reason("honeypot", 20, "Filled the hidden field that only bots see.")
        else:  # autofill and password managers fill hidden fields too: trust only with a token
            yield Reason("honeypot_untrusted", 3, "Hidden field filled, without a valid form.")
    token_points = {MISSING: 2, EXPIRED: 2, FORGED: 6, REPLAYED: 6}
    if s.form_token in token_points:
        yield Reason(
            f"token_{s.form_token}", token_points[s.form_token], f"Form token {s.form_token}."
        )
    if s.form_token == VALID and s.token_age_s is not None and s.token_age_s < policy.min_submit_s:
        yield Reason("too_fast", 5, f"Submitted {s.token_age_s:.1f} s after the form appeared.")
    if s.flood:
        yield Reason("flood", 4, "Another comment from the same sender moments ago.")
    if s.duplicate == "exact":
        yield Reason("duplicate", 6, "The same text was posted recently.")
    elif s.duplicate == "near":
        yield Reason("near_duplicate", 4, "Nearly the same text was posted recently.")
    if s.ip_last_hour > policy.ip_hourly_limit:
        yield Reason("ip_rate", 4, f"{s.ip_last_hour} comments from this address in an hour.")
    if s.site_last_minute > policy.site_minute_limit:
        yield Reason("site_rate", 3, f"{s.site_last_minute} comments site-wide in a minute.")


def reputation_reasons(rep: Reputation) -> Iterable[Reason]:
    if rep.trusted:
        yield Reason("trusted", -6, f"Known commenter with {rep.approved} approved comments.")
    if rep.spam_from_email:
        yield Reason("spam_sender", 8, "This commenter has posted spam before.")
    if rep.spam_from_ip:
        yield Reason("spam_ip", 5, "Spam came from this address before.")
    if rep.spam_from_domain:
        yield Reason("spam_website", 6, "This website was linked in spam before.")


def content_reasons(c: Candidate, policy: Policy) -> Iterable[Reason]:
    links = _LINK.findall(c.comment)
    count = len(links) + len(_BARE_DOMAIN.findall(_LINK.sub(" ", c.comment)))
    if count >= policy.links_hold:
        yield Reason("links", 4, f"{count} links (held at {policy.links_hold}).")
    elif count:
        yield Reason("link", 1.5, "Contains a link.")
    hosts = {_host(link) for link in links}
    if hosts & SHORTENERS:
        yield Reason("shortener", 5, "Uses a link shortener.")
    if _MARKUP_LINK.search(c.comment):
        yield Reason("markup_link", 6, "BBCode or HTML link markup.")
    lowered = c.comment.lower()
    if any(_has_word(lowered, k) for k in policy.disallowed_keywords):
        yield Reason("disallowed_keyword", 10, "Contains a disallowed keyword.")
    if any(_has_word(lowered, k) for k in policy.moderation_keywords):
        yield Reason("moderation_keyword", 4, "Contains a moderation keyword.")
    name = c.name.lower()
    if _LINK.search(name) or _BARE_DOMAIN.search(name):
        yield Reason("name_is_url", 5, "The author name is a web address.")
    elif len(name.split()) > 4 or set(re.findall(r"[a-z]+", name)) & COMMERCIAL_WORDS:
        yield Reason("name_keywords", 3, "The author name looks keyword-stuffed.")
    letters = [ch for ch in c.comment if ch.isalpha()]
    if len(letters) >= 20 and sum(ch.isupper() for ch in letters) / len(letters) > 0.7:
        yield Reason("shouting", 2, "Mostly capital letters.")
    if _REPEAT.search(c.comment):
        yield Reason("repetition", 1, "Long runs of a repeated character.")


def text_reason(model: TextModel, text: str) -> Reason:
    p = model.probability(text)
    # Log-odds, capped: the model alone can hold a comment but never call it spam.
    points = round(max(-4.0, min(8.0, 1.5 * math.log(max(p, 1e-9) / max(1 - p, 1e-9)))), 2)
    return Reason("text_model", points, f"Text looks {p:.0%} spam-like.")


def _host(link: str) -> str:
    host = urlsplit(link if "://" in link else f"http://{link}").hostname or ""
    return host.removeprefix("www.")


def _has_word(text: str, keyword: str) -> bool:
    return re.search(rf"\b{re.escape(keyword.lower())}\b", text) is not None
