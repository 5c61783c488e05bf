"""The optional Akismet layer: its verdict for the scorer, moderators' verdicts back to it.

Off unless COMMENTS_AKISMET_KEY is set. What is sent is the comment as readers see it (name,
website, text, the article's page) and the request's user agent and page; never the address
unless COMMENTS_AKISMET_SEND_EMAIL, never the IP unless COMMENTS_AKISMET_SEND_IP (Akismet
asks for both; without them its verdicts rest on the words alone). `comment-check` gets
COMMENTS_AKISMET_TIMEOUT (2 s) for the whole exchange: no answer, or any answer but Akismet's
documented "true" / "false", is "unavailable", and the scorer holds the comment.

API: https://akismet.com/developers/ (v1.1, form-encoded POSTs, the key as `api_key`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlencode

from service.core.settings import Settings
from service.core.validation import HONEYPOT_FIELD
from workers.bounded_http import Answer, Unavailable, post

SPAM, HAM, UNAVAILABLE = "spam", "ham", "unavailable"
# Spam with Akismet's "X-akismet-pro-tip: discard": blatant, safe to drop unseen (its words).
DISCARD = "discard"
# Akismet's answers are a word and a few headers; anything longer is not Akismet.
MAX_ANSWER_BYTES = 4096
# What submit-spam and submit-ham answer when they took the report.
THANKS = b"Thanks for making the web a better place."
log = logging.getLogger(__name__)


class FeedbackError(RuntimeError):
    """Akismet did not take a report; the job retries later."""


def enabled(settings: Settings) -> bool:
    return bool(settings.akismet_key)


def comment_check(settings: Settings, record: Mapping[str, str], address: str | None = None) -> str:
    """Akismet's verdict on a stored comment: discard, spam, ham or unavailable. `address` is sent
    only with COMMENTS_AKISMET_SEND_EMAIL (the caller opens the seal only then)."""
    try:
        answer = _call(settings, "comment-check", parameters(settings, record, address))
    except Unavailable as exc:
        log.warning("Akismet unavailable: %s", exc)
        return UNAVAILABLE
    word = answer.body.strip()
    if answer.status == 200 and word in (b"true", b"false"):
        if word == b"false":
            return HAM
        tip = answer.headers.get("x-akismet-pro-tip", "").strip().lower()
        return DISCARD if tip == "discard" else SPAM
    # "invalid" (a wrong key), an error page, anything else: say what, never their words.
    hint = " (it rejected the key)" if word == b"invalid" else ""
    log.warning("Akismet gave no verdict: HTTP %d%s", answer.status, hint)
    return UNAVAILABLE


def submit(
    settings: Settings, label: str, record: Mapping[str, str], address: str | None = None
) -> None:
    """Tell Akismet a moderator's verdict: `spam` (it missed one) or `ham` (it was wrong)."""
    endpoint = {SPAM: "submit-spam", HAM: "submit-ham"}[label]
    try:
        answer = _call(settings, endpoint, parameters(settings, record, address))
    except Unavailable as exc:
        raise FeedbackError(f"Akismet {endpoint} failed: {exc}") from None
    if answer.status != 200 or answer.body.strip() != THANKS:
        raise FeedbackError(f"Akismet {endpoint} did not take the report (HTTP {answer.status})")


def verify_key(settings: Settings) -> bool | None:
    """Whether Akismet knows the key for this site; None when it could not be asked."""
    data = {"api_key": settings.akismet_key or "", "blog": blog(settings)}
    try:
        answer = _call(settings, "verify-key", data)
    except Unavailable:
        return None
    word = answer.body.strip()
    if answer.status == 200 and word in (b"valid", b"invalid"):
        return word == b"valid"
    return None


def announce(settings: Settings) -> None:
    """Log, once when a worker starts, whether Akismet takes the key (a wrong key would
    otherwise only show as every comment held with "Akismet unavailable")."""
    if not enabled(settings):
        return
    verdict = verify_key(settings)
    if verdict is False:
        log.error("Akismet rejected COMMENTS_AKISMET_KEY for %s", blog(settings))
    elif verdict is None:
        log.warning("Akismet could not be reached to verify the key")


def blog(settings: Settings) -> str:
    return settings.akismet_blog_url or settings.public_url


def parameters(
    settings: Settings, record: Mapping[str, str], address: str | None = None
) -> dict[str, str]:
    """The form fields for comment-check and submit-*, from an allow-list of the record."""
    created = float(record.get("created_at") or 0)
    data = {
        "api_key": settings.akismet_key or "",
        "blog": blog(settings),
        "blog_charset": "UTF-8",
        "comment_type": "reply" if record.get("parent_id") else "comment",
        "comment_author": record.get("name", ""),
        "comment_author_url": record.get("website", ""),
        "comment_content": record.get("comment", ""),
        "comment_date_gmt": datetime.fromtimestamp(created, UTC).isoformat(timespec="seconds"),
        "permalink": record.get("article_url", ""),
        "referrer": record.get("referrer", ""),
        "user_agent": record.get("user_agent", ""),
        # Akismet weighs a filled honeypot itself when told which field it is.
        "honeypot_field_name": HONEYPOT_FIELD,
        HONEYPOT_FIELD: record.get("honeypot", ""),
    }
    if settings.akismet_send_ip and record.get("ip"):
        data["user_ip"] = record["ip"]
    if settings.akismet_send_email and address:
        data["comment_author_email"] = address
    return {name: value for name, value in data.items() if value}


def _call(settings: Settings, endpoint: str, data: Mapping[str, str]) -> Answer:
    return post(
        f"{settings.akismet_url}/{endpoint}",
        urlencode(data).encode(),
        {
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "User-Agent": "comments-service/0.1 | Akismet/1.1",
        },
        deadline_s=settings.akismet_timeout_s,
        max_bytes=MAX_ANSWER_BYTES,
    )
