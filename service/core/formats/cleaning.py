"""Imported fields made to fit what intake accepts, repaired rather than refused.

Intake refuses a bad field and the commenter fixes it; an archive has nobody to ask, so an
imported comment keeps its words and loses only what cannot be kept: a website that is not
an http(s) URL, an address that is not one, characters intake never lets in (controls, bidi
overrides, lone surrogates). Limits are intake's (service/core/validation.py).
"""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
from datetime import UTC, datetime
from urllib.parse import urlsplit

from service.core.validation import MAX_NAME, MAX_TITLE, MAX_WEBSITE, normalize_email

ANONYMOUS = "Anonymous"
ELLIPSIS = "\u2026"
# What intake refuses in text and in single-line fields (validation.py), removed instead.
_BAD_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_BAD_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
# Links that browsers and this service would read differently (validation._url's rule).
_AMBIGUOUS_IN_URL = re.compile(r"[\\\s\x00-\x1f\x7f]")


def name(raw: str) -> str:
    """One line, at most intake's length; "Anonymous" when nothing is left."""
    return line(raw, MAX_NAME) or ANONYMOUS


def title(raw: str) -> str:
    return line(raw, MAX_TITLE)


def line(raw: str, limit: int) -> str:
    """A single line of text: controls removed, runs of whitespace one space, NFC."""
    cleaned = " ".join(_BAD_IN_LINE.sub(" ", raw).split())
    return unicodedata.normalize("NFC", cleaned)[:limit]


def text(raw: str, limit: int) -> tuple[str, bool]:
    """The comment's text and whether it had to be shortened to `limit` characters."""
    cleaned = _BAD_IN_TEXT.sub("", raw.replace("\r\n", "\n").replace("\r", "\n"))
    cleaned = unicodedata.normalize("NFC", cleaned).strip()
    if len(cleaned) <= limit:
        return cleaned, False
    return cleaned[: limit - 1].rstrip() + ELLIPSIS, True


@functools.lru_cache(maxsize=65536)
def website(raw: str) -> str:
    """An http(s) URL with a host that intake would accept, or ""."""
    url = raw.strip()
    if not url or len(url) > MAX_WEBSITE or _AMBIGUOUS_IN_URL.search(url):
        return ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return ""
    return url


@functools.lru_cache(maxsize=65536)
def email(raw: str) -> str:
    """The address in the one form every look-up key is made from, or "" if it is none.
    Cached: commenters come back, and the full syntax check costs more than all the rest of
    an imported comment."""
    if not raw.strip():
        return ""
    try:
        return normalize_email(raw)
    except ValueError:
        return ""


@functools.lru_cache(maxsize=65536)
def ip(raw: str) -> str:
    """A real IP address, or "" (some systems export a hash in its place)."""
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        return ""


def timestamp(raw: str) -> float | None:
    """Unix time from ISO 8601 or WordPress's "YYYY-MM-DD HH:MM:SS"; naive times are UTC."""
    value = raw.strip()
    if not value or value.startswith("0000-00-00"):
        return None
    try:
        # Python 3.11 reads any ISO 8601 form, nanoseconds (Go's, in Remark42) included.
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
