"""The spam scorer: pure, layered, explainable. No I/O: the caller passes everything in.

Each layer adds points with a reason a moderator can read. Every signal is one of two kinds
(`SIGNALS` below, the README's table):

- conclusive: evidence of a bot or of a decision someone made (a trap only bots fill, a forged
  token, the operator's banned word, a proof of work that failed). Only these may decide
  "spam": a comment is spam when its conclusive points reach `SPAM_AT`;
- soft: a hint (the text model, links, timing, shouting...). Soft points, however many fire,
  only decide between approve and hold: a spam verdict hides a comment from everyone, and
  nobody looks in the spam folder, so a guess must never put a reader there.

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
CONCLUSIVE, SOFT = "conclusive", "soft"

# Public link shorteners: they hide the destination, which is what spam needs.
SHORTENERS = frozenset(
    "bit.ly goo.gl tinyurl.com t.co ow.ly is.gd buff.ly rebrand.ly cutt.ly shorturl.at "
    "tiny.cc rb.gy t.ly s.id v.gd bl.ink lnkd.in adf.ly shorte.st".split()
)
# Sites where everyone's page shares one domain: that a spammer's page was on one says
# nothing about the next reader whose website is there too.
SHARED_HOSTS = frozenset(
    "youtube.com youtu.be facebook.com instagram.com twitter.com x.com tiktok.com reddit.com "
    "linkedin.com medium.com github.com gitlab.com soundcloud.com twitch.tv pinterest.com "
    "tumblr.com flickr.com vimeo.com bsky.app mastodon.social threads.net patreon.com "
    "linktr.ee substack.com wordpress.com blogspot.com google.com sites.google.com".split()
)
COMMERCIAL_WORDS = frozenset(
    "buy cheap casino loan loans seo viagra cialis porn bitcoin crypto forex discount "
    "followers replica pharmacy escort".split()
)
_LINK = re.compile(r"(?:https?://|www\.)[^\s<>\"'\]\[]+", re.IGNORECASE)
_DOMAINS = "com net org info biz ru xyz top ly gl".split()
_BARE_DOMAIN = re.compile(rf"\b[a-z0-9-]+\.(?:{'|'.join(_DOMAINS)})\b", re.I)
# What a bare domain contains: prose without it skips the slower search (a pattern that
# starts with a literal is a fast scan; long comments spent a third of their time there).
_DOMAIN_HINT = re.compile(rf"\.(?:{'|'.join(_DOMAINS)})", re.I)
_MARKUP_LINK = re.compile(r"\[url[=\]]|<a\s+href", re.IGNORECASE)
# The text model's say, either way, in points: it may outweigh content hints, never the
# request's own evidence (timing, floods, duplicates hold whatever the text).
TEXT_CAP = 8.0


@dataclass(frozen=True, slots=True)
class Signal:
    """One kind of evidence: what it is worth, and whether it may decide "spam"."""

    code: str
    kind: str  # CONCLUSIVE | SOFT
    points: float
    meaning: str
    # Held whatever the total (a conclusive signal below SPAM_AT holds too).
    holds: bool = False
    # A trusted commenter is not approved past it (nor past any reason of STRONG_POINTS).
    firm: bool = False
    shown_points: str = ""  # how the README shows points that vary

    def reason(self, text: str, points: float | None = None) -> Reason:
        return Reason(
            self.code,
            self.points if points is None else points,
            text,
            self.kind,
            self.holds or self.kind == CONCLUSIVE,
            self.firm or self.kind == CONCLUSIVE,
        )


def _signals(*signals: Signal) -> dict[str, Signal]:
    return {s.code: s for s in signals}


C, S = CONCLUSIVE, SOFT
SIGNALS = _signals(
    # The request (form token, honeypot, proof of work, traffic)
    Signal("honeypot", C, 20, "the hidden field only bots see was filled, with a valid form token"),
    Signal(
        "honeypot_untrusted",
        S,
        3,
        "the hidden field was filled without a valid form token "
        "(browsers' autofill and password managers fill hidden fields too)",
        holds=True,
    ),
    Signal(
        "token_forged",
        C,
        10,
        "the form token was not signed by this service, or was for another article",
    ),
    Signal(
        "token_replayed",
        C,
        10,
        "the form token was already used by another comment (the "
        "widget fetches a new one for each comment)",
    ),
    Signal("token_missing", S, 2, "no form token (an API client, a page that could not fetch one)"),
    Signal("token_expired", S, 2, "the form token expired (a page left open for hours)"),
    Signal(
        "too_fast",
        S,
        5,
        "posted less than `MIN_SUBMIT_SECONDS` after the form appeared",
        holds=True,
    ),
    Signal(
        "pow_missing", C, 10, "the form claimed to be the widget's but brought no proof of work"
    ),
    Signal(
        "pow_invalid",
        C,
        10,
        "the proof of work was altered, forged, for another article or not a solution",
    ),
    Signal(
        "pow_expired",
        C,
        10,
        "the proof of work expired (the widget solves a new one in time, "
        "so a stale solution was stockpiled)",
    ),
    Signal("pow_replayed", C, 10, "the proof of work was already spent by another comment"),
    Signal(
        "no_proof_of_work",
        S,
        0,
        "the form did not claim to be the widget's: a reader without "
        "JavaScript or an API client. Never refused; held",
        holds=True,
    ),
    Signal(
        "flood",
        S,
        4,
        "another comment from the same IP or address moments ago (`FLOOD_WINDOW`)",
        holds=True,
    ),
    Signal("duplicate", S, 6, "the same text was posted in the last day", holds=True),
    Signal("near_duplicate", S, 4, "the same letters were posted in the last day", holds=True),
    Signal("ip_rate", S, 4, "over `IP_HOURLY_LIMIT` comments from this IP in an hour", holds=True),
    Signal(
        "site_rate", S, 3, "over `SITE_MINUTE_LIMIT` comments site-wide in a minute", holds=True
    ),
    # Services outside (off unless configured)
    Signal(
        "akismet_discard",
        C,
        10,
        "Akismet: blatant spam (its `discard` tip: safe to drop unseen, in Akismet's own words)",
    ),
    Signal(
        "akismet_spam",
        S,
        6,
        "Akismet: spam. A vendor's opinion without reasons a moderator "
        "can check: held, trust does not approve past it",
        holds=True,
        firm=True,
    ),
    Signal("akismet_unavailable", S, 0, "Akismet did not answer in time: held", holds=True),
    Signal("hook_spam", C, 10, "the site's moderation hook: spam (the site's own model)"),
    Signal(
        "hook_hold",
        S,
        0,
        "the site's moderation hook asked for a moderator: held, trusted commenters too",
        holds=True,
        firm=True,
    ),
    Signal(
        "hook_unavailable",
        S,
        0,
        "the site's moderation hook did not answer in time: held, trusted commenters too",
        holds=True,
        firm=True,
    ),
    # Reputation (keyed HMAC of the address, the IP, the website's domain)
    Signal(
        "trusted",
        S,
        -6,
        "a commenter with approved comments, from a browser they were "
        "approved from or a confirmed address",
    ),
    Signal("spam_sender", C, 10, "this address sent spam before and never an approved comment"),
    Signal(
        "spam_sender_approved",
        S,
        8,
        "this address sent spam before, and approved comments "
        "too (a moderator's slip, or someone using the address)",
        firm=True,
    ),
    Signal(
        "spam_ip",
        S,
        5,
        "spam came from this IP before (IPs are shared: NAT, mobile carriers, offices)",
    ),
    Signal("spam_website", C, 10, "the commenter's website was spam's website before"),
    Signal(
        "spam_website_shared",
        S,
        3,
        "the commenter's website is on a shared host (YouTube, Medium...) where spam was before",
    ),
    # Content
    Signal(
        "markup_link",
        C,
        10,
        "HTML or BBCode link markup: comments are plain text, so it "
        "only works on sites that render it (link injection)",
    ),
    Signal(
        "disallowed_keyword", C, 10, "a word of `DISALLOWED_KEYWORDS` (the operator's ban list)"
    ),
    Signal(
        "moderation_keyword",
        S,
        4,
        "a word of `MODERATION_KEYWORDS`: held, trusted commenters too",
        holds=True,
        firm=True,
    ),
    Signal(
        "links", S, 4, "`LINKS_HOLD` links or more, and more than one per `WORDS_PER_LINK` words"
    ),
    Signal("link", S, 1.5, "a link, or several in long prose"),
    Signal("shortener", S, 5, "a link shortener (bit.ly...): hides where it goes"),
    Signal("name_is_url", S, 5, "the author name is a web address"),
    Signal(
        "name_keywords",
        S,
        3,
        "the author name is keyword-stuffed (commercial words, or more than six words)",
    ),
    Signal("shouting", S, 2, "mostly capital letters"),
    Signal(
        "text_model",
        S,
        0,
        "the text model: 1.5 x the calibrated log-odds, capped",
        shown_points="-8 to +8",
    ),
)


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
    # Proof of work (service/core/pow.py): valid | missing | invalid | expired | replayed;
    # None when the form never claimed to be the widget's (no JavaScript, an API client).
    pow: str | None = None
    akismet: str | None = None  # spam | ham | unavailable; None: Akismet is off
    hook: str | None = None  # spam | hold | approve | unavailable; None: no moderation hook
    hook_reasons: tuple[str, ...] = ()


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
    kind: str = SOFT
    holds: bool = False
    firm: bool = False


@dataclass(frozen=True, slots=True)
class Result:
    score: float
    verdict: str
    reasons: tuple[Reason, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        return {
            "score": round(self.score, 2),
            "verdict": self.verdict,
            "reasons": [
                {"code": r.code, "points": r.points, "text": r.text, "kind": r.kind}
                for r in self.reasons
            ],
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
        *(outside_reasons(signals) if signals is not None else ()),
        *reputation_reasons(reputation or Reputation(), candidate),
        *content_reasons(candidate, policy),
        text_reason(model, candidate.comment),
    ]
    return Result(
        sum(r.points for r in reasons),
        verdict(reasons, policy),
        tuple(r for r in reasons if r.points or r.holds),
    )


def verdict(reasons: Iterable[Reason], policy: Policy) -> str:
    """Spam only on conclusive points; soft points (any number of them) at most hold."""
    reasons = list(reasons)
    if sum(r.points for r in reasons if r.kind == CONCLUSIVE) >= policy.spam_at:
        return SPAM
    if sum(r.points for r in reasons) >= policy.hold_at or any(r.holds for r in reasons):
        return HOLD
    return APPROVE


def decide(result: Result, reputation: Reputation, policy: Policy) -> Result:
    """Apply moderation policy on top of the scorer's conclusion. It never makes spam."""
    strong = any(r.points >= policy.strong_points or r.firm for r in result.reasons)
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
            yield SIGNALS["honeypot"].reason("Filled the hidden field that only bots see.")
        else:  # autofill and password managers fill hidden fields too: trust only with a token
            yield SIGNALS["honeypot_untrusted"].reason("Hidden field filled, without a valid form.")
    if s.form_token in (MISSING, EXPIRED, FORGED, REPLAYED):
        yield SIGNALS[f"token_{s.form_token}"].reason(f"Form token {s.form_token}.")
    if s.form_token == VALID and s.token_age_s is not None and s.token_age_s < policy.min_submit_s:
        yield SIGNALS["too_fast"].reason(
            f"Submitted {s.token_age_s:.1f} s after the form appeared."
        )
    if s.pow is None:
        yield SIGNALS["no_proof_of_work"].reason(
            "No proof of work: the form was not the widget's (no JavaScript, or an API client)."
        )
    elif s.pow != VALID:
        code = f"pow_{s.pow}" if f"pow_{s.pow}" in SIGNALS else "pow_invalid"
        yield SIGNALS[code].reason(f"Proof of work {s.pow}.")
    if s.flood:
        yield SIGNALS["flood"].reason("Another comment from the same sender moments ago.")
    if s.duplicate == "exact":
        yield SIGNALS["duplicate"].reason("The same text was posted recently.")
    elif s.duplicate == "near":
        yield SIGNALS["near_duplicate"].reason("Nearly the same text was posted recently.")
    if s.ip_last_hour > policy.ip_hourly_limit:
        yield SIGNALS["ip_rate"].reason(f"{s.ip_last_hour} comments from this IP in an hour.")
    if s.site_last_minute > policy.site_minute_limit:
        yield SIGNALS["site_rate"].reason(f"{s.site_last_minute} comments site-wide in a minute.")


def outside_reasons(s: Signals) -> Iterable[Reason]:
    """Akismet's and the site's moderation hook's answers (None: not asked)."""
    if s.akismet == "discard":
        yield SIGNALS["akismet_discard"].reason("Akismet: blatant spam.")
    elif s.akismet == "spam":
        yield SIGNALS["akismet_spam"].reason("Akismet: spam.")
    elif s.akismet not in (None, "ham"):  # unavailable, or an answer we do not know
        yield SIGNALS["akismet_unavailable"].reason("Akismet did not answer: held.")
    said = "; ".join(reason[:200] for reason in s.hook_reasons[:5])
    because = f" ({said})" if said else ""
    if s.hook == "spam":
        yield SIGNALS["hook_spam"].reason(f"The site's moderation hook: spam{because}.")
    elif s.hook == "hold":
        yield SIGNALS["hook_hold"].reason(f"The site's moderation hook: hold{because}.")
    elif s.hook not in (None, "approve"):
        yield SIGNALS["hook_unavailable"].reason("The site's moderation hook did not answer.")


def reputation_reasons(rep: Reputation, candidate: Candidate) -> Iterable[Reason]:
    if rep.trusted:
        yield SIGNALS["trusted"].reason(f"Known commenter with {rep.approved} approved comments.")
    if rep.spam_from_email and rep.approved:
        yield SIGNALS["spam_sender_approved"].reason(
            "This address has posted spam before, and approved comments too."
        )
    elif rep.spam_from_email:
        yield SIGNALS["spam_sender"].reason("This address has posted spam before.")
    if rep.spam_from_ip:
        yield SIGNALS["spam_ip"].reason("Spam came from this IP before.")
    if rep.spam_from_domain:
        if _host(candidate.website) in SHARED_HOSTS:
            yield SIGNALS["spam_website_shared"].reason(
                "Spam came with a website on this shared host before."
            )
        else:
            yield SIGNALS["spam_website"].reason("This website was linked in spam before.")


def content_reasons(c: Candidate, policy: Policy) -> Iterable[Reason]:
    lowered = c.comment.lower()
    # Only what a link must contain makes the (slower) search worth it: most prose has neither.
    links = _LINK.findall(c.comment) if "://" in c.comment or "www." in lowered else []
    bare = 0
    if _DOMAIN_HINT.search(c.comment):
        bare = len(_BARE_DOMAIN.findall(_LINK.sub(" ", c.comment) if links else c.comment))
    count = len(links) + bare
    # Long prose cites its sources: it may carry a link per WORDS_PER_LINK words.
    allowed = len(c.comment.split()) // max(policy.words_per_link, 1)
    if count >= policy.links_hold and count > allowed:
        yield SIGNALS["links"].reason(
            f"{count} links (held at {max(policy.links_hold, allowed + 1)})."
        )
    elif count:
        yield SIGNALS["link"].reason(
            "Contains a link." if count == 1 else f"{count} links in long prose."
        )
    hosts = {_host(link) for link in links}
    if hosts & SHORTENERS:
        yield SIGNALS["shortener"].reason("Uses a link shortener.")
    if _MARKUP_LINK.search(c.comment):
        yield SIGNALS["markup_link"].reason("BBCode or HTML link markup.")
    if any(_has_word(lowered, k) for k in policy.disallowed_keywords):
        yield SIGNALS["disallowed_keyword"].reason("Contains a disallowed keyword.")
    if any(_has_word(lowered, k) for k in policy.moderation_keywords):
        yield SIGNALS["moderation_keyword"].reason("Contains a moderation keyword.")
    name = c.name.lower()
    if _LINK.search(name) or _BARE_DOMAIN.search(name):
        yield SIGNALS["name_is_url"].reason("The author name is a web address.")
    elif len(name.split()) > 6 or set(re.findall(r"[a-z]+", name)) & COMMERCIAL_WORDS:
        yield SIGNALS["name_keywords"].reason("The author name looks keyword-stuffed.")
    # Judged on up to ~1,000 characters taken evenly across the comment (fast on long ones).
    sample = c.comment[:: max(1, len(c.comment) // 1000)]
    letters = list(filter(str.isalpha, sample))
    if len(letters) >= 20 and sum(map(str.isupper, letters)) / len(letters) > 0.7:
        yield SIGNALS["shouting"].reason("Mostly capital letters.")


def text_reason(model: TextModel, text: str) -> Reason:
    z = model.logit(text)
    p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
    # Calibrated log-odds, capped; soft, like every guess: it can hold, never call spam.
    points = round(max(-TEXT_CAP, min(TEXT_CAP, 1.5 * z)), 2)
    return SIGNALS["text_model"].reason(f"Text looks {p:.0%} spam-like.", points)


def _host(link: str) -> str:
    if not link:
        return ""
    try:
        host = urlsplit(link if "://" in link else f"http://{link}").hostname or ""
    except ValueError:  # a malformed address (an unclosed IPv6 bracket) has no host
        return ""
    return host.removeprefix("www.")


def _has_word(text: str, keyword: str) -> bool:
    return re.search(rf"\b{re.escape(keyword.lower())}\b", text) is not None


def signal_table(policy: Policy | None = None) -> str:
    """Every signal as a Markdown table: the README's (a test keeps the two equal)."""
    policy = policy or Policy()
    rows = ["| signal | kind | points | on its own | what it means |", "|---|---|---|---|---|"]
    for s in SIGNALS.values():
        if s.kind == CONCLUSIVE:
            alone = "spam" if s.points >= policy.spam_at else "hold"
        else:
            alone = "hold" if s.holds else "adds up"
        if s.kind == SOFT and (s.firm or s.points >= policy.strong_points):
            alone += ", trusted too"
        points = s.shown_points or f"{s.points:+g}"
        rows.append(f"| `{s.code}` | {s.kind} | {points} | {alone} | {s.meaning} |")
    return "\n".join(rows)
