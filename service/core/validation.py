"""Pure validation of a reply submission: raw fields in, a Submission or every field error out."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES, EMAIL_MAX_LENGTH

from service.core.keys import is_comment_id

# The hidden field bots fill in; a name that looks worth filling.
HONEYPOT_FIELD = "contact_phone"
# The widget's proof of work (ALTCHA's field name); its presence says "the widget sent this".
POW_FIELD = "altcha"
MAX_ARTICLE = 512
MAX_NAME = 100
MAX_EMAIL = 254  # RFC 5321 path limit
MAX_WEBSITE = 200
MAX_TITLE = 300
MAX_ARTICLE_URL = 2048
MAX_TOKEN = 512
MAX_HONEYPOT = 200
MAX_COMMENTER_KEY = 128
MAX_POW = 2048  # a solution is ~800 characters

# C0/C1 controls except tab and newline, plus lone surrogates (JSON can smuggle them in and they
# cannot be encoded to UTF-8), plus bidi overrides that make text lie about its direction.
_BAD_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_BAD_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_AMBIGUOUS_IN_URL = re.compile(r"[\\\s\x00-\x1f\x7f]")
# The shape nearly every website has, which is_http_url accepts as it is (a test checks that on
# generated URLs): http(s), an ASCII host name, a port below 10000, then printable ASCII but
# backslash. Anything else takes is_http_url's path: urlsplit on a new URL cost ~5 % of
# accepting a comment (callgrind). Possessive (Python 3.11): what follows the host never
# starts with a host character or a dot, so giving any back could not help, and a hostile
# "a.a.a.…!" is read in linear time instead of backtracking label by label.
_PLAIN_URL = re.compile(
    r"(?i:https?)://[A-Za-z0-9-]++(?:\.[A-Za-z0-9-]++)*+(?::[0-9]{1,4})?(?:[/?#][!-\[\]-~]*)?"
)
# At least 128 bits of base64url: unguessable, so it proves the browser that holds it.
_COMMENTER_KEY = re.compile(r"^[A-Za-z0-9_-]{22,128}$")
# The shape nearly every address has: an ASCII dot-atom before the @ (valid as it is, for
# email-validator too) and an ASCII host name after it; anything else takes the library's path.
_PLAIN_ADDRESS = re.compile(r"([A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*)@([A-Za-z0-9.-]+)")
_TRUE = frozenset({"1", "true", "on", "yes"})
_FALSE = frozenset({"", "0", "false", "off", "no"})


class FieldError(NamedTuple):
    code: str
    message: str
    limit: int | None = None  # too_long's maximum, which translated messages name


# A NamedTuple, not a frozen dataclass: as immutable, and made in a third of the time (a frozen
# dataclass sets each of its fields through object.__setattr__; one is made per submission).
class Submission(NamedTuple):
    article: str
    name: str
    email: str  # normalized; sealed before it is stored
    comment: str
    website: str | None = None
    parent_id: str | None = None
    notify_replies: bool = False
    form_token: str | None = None
    honeypot: str | None = None
    article_url: str | None = None
    title: str | None = None
    # The random key the widget keeps in the reader's browser: proof of a returning commenter.
    commenter_key: str | None = None
    # The proof of work: whether the form sent the field at all (only the widget does), and
    # the solution in it (service/core/pow.py judges it).
    pow_claimed: bool = False
    pow_payload: str | None = None


def validate_submission(
    data: Mapping[str, object], max_comment: int
) -> tuple[Submission | None, dict[str, FieldError]]:
    """Check every field; return the clean submission, or None and all the field errors."""
    errors: dict[str, FieldError] = {}

    def text(name: str, limit: int, *, required: bool, multiline: bool = False) -> str | None:
        # The label is made only for an error: most fields of most submissions have none.
        raw = data.get(name)
        if raw is None:
            value = ""
        elif isinstance(raw, str):
            value = raw.replace("\r\n", "\n").replace("\r", "\n") if "\r" in raw else raw
            value = value.strip()
        else:
            errors[name] = FieldError("invalid_type", f"{field_label(name)} must be a string.")
            return None
        if not value:
            if required:
                errors[name] = FieldError("required", f"{field_label(name)} is required.")
            return None
        if len(value) > limit:
            message = f"{field_label(name)} must be at most {limit} characters."
            errors[name] = FieldError("too_long", message, limit)
            return None
        if (_BAD_IN_TEXT if multiline else _BAD_IN_LINE).search(value):
            message = f"{field_label(name)} contains control characters."
            errors[name] = FieldError("invalid_characters", message)
            return None
        return unicodedata.normalize("NFC", value)

    article = text("article", MAX_ARTICLE, required=True)
    name = text("name", MAX_NAME, required=True)
    comment = text("comment", max_comment, required=True, multiline=True)
    email = _email(text("email", MAX_EMAIL, required=True), errors)
    website = _url(text("website", MAX_WEBSITE, required=False), "website", errors)
    article_url = _url(text("article_url", MAX_ARTICLE_URL, required=False), "article_url", errors)
    title = text("title", MAX_TITLE, required=False)
    form_token = text("form_token", MAX_TOKEN, required=False)
    honeypot = text(HONEYPOT_FIELD, MAX_HONEYPOT, required=False, multiline=True)
    parent_id = text("parent_id", 64, required=False)
    if parent_id is not None and not is_comment_id(parent_id):
        errors["parent_id"] = FieldError("invalid_parent", "parent_id is not a comment id.")
    notify = _boolean(data.get("notify_replies"), errors)
    pow_payload = text(POW_FIELD, MAX_POW, required=False)
    commenter_key = text("commenter_key", MAX_COMMENTER_KEY, required=False)
    if commenter_key is not None and not _COMMENTER_KEY.match(commenter_key):
        message = "commenter_key must be 22-128 URL-safe characters."
        errors["commenter_key"] = FieldError("invalid_commenter_key", message)

    if errors:
        return None, errors
    # Guaranteed by the required checks above; narrows the types.
    assert article is not None
    assert name is not None
    assert comment is not None
    assert email is not None
    return Submission(
        article=article,
        name=name,
        email=email,
        comment=comment,
        website=website,
        parent_id=parent_id,
        notify_replies=notify,
        form_token=form_token,
        honeypot=honeypot,
        article_url=article_url,
        title=title,
        commenter_key=commenter_key,
        pow_claimed=POW_FIELD in data,
        pow_payload=pow_payload,
    ), {}


def field_label(name: str) -> str:
    """How messages name a field ("Name is required."): worded as the widget words them."""
    return name.replace("_", " ").capitalize()


def normalize_email(raw: str) -> str:
    """The one form of an address that every look-up key is made from (intake, privacy
    requests, the operator's CLI): trimmed, Unicode NFC, domain lowercased and in Unicode even
    when given as IDNA `xn--`. Raises ValueError (without quoting the address) if invalid.
    The keyed hash then casefolds, so case in the local part does not matter either.

    Exactly email-validator's verdict and normalized form (a test compares them), but for
    a plain address the work on its domain, three quarters of the library's time, is done
    once per domain."""
    address = raw.strip()
    plain = _PLAIN_ADDRESS.fullmatch(address)
    if plain is None:
        return _validated(address)
    local, host = plain.groups()
    domains = _domain_forms(host)
    if domains is None:
        raise _invalid_email()
    domain, ascii_domain = domains
    # As the library does: RFC 2142's role mailboxes (postmaster, abuse...) are case-blind.
    if local.lower() in CASE_INSENSITIVE_MAILBOX_NAMES:
        local = local.lower()
    normalized = f"{local}@{domain}"
    # The library's three length checks, in UTF-8 (only the Unicode domain can be non-ASCII).
    longest = max(len(address), len(normalized.encode()), len(local) + 1 + len(ascii_domain))
    if longest > EMAIL_MAX_LENGTH:
        raise _invalid_email()
    return normalized


@lru_cache(maxsize=4096)
def _domain_forms(host: str) -> tuple[str, str] | None:
    """A domain's normalized and IDNA ASCII forms as email-validator gives them, or None if it
    refuses the domain. Any refusal of the probe is the domain's: the probe's local part is
    valid and as short as any, so every address at this domain is at least as long."""
    try:
        checked = validate_email(f"a@{host}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.domain, checked.ascii_domain


def _validated(address: str) -> str:
    try:
        # Syntax only: deliverability means DNS, which has no place on the request path.
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        raise _invalid_email() from None


def _invalid_email() -> ValueError:
    # A fixed message: the library's text can quote parts of the address back.
    return ValueError("not a valid email address")


def _email(value: str | None, errors: dict[str, FieldError]) -> str | None:
    if value is None:
        return None
    try:
        return normalize_email(value)
    except ValueError:
        errors["email"] = FieldError("invalid_email", "Enter a valid email address.")
        return None


def _url(value: str | None, name: str, errors: dict[str, FieldError]) -> str | None:
    if value is None:
        return None
    if _PLAIN_URL.fullmatch(value) is None and not is_http_url(value):
        errors[name] = FieldError(
            "invalid_url", f"{field_label(name)} must be an http(s) URL with a host."
        )
        return None
    return value


def is_http_url(value: str) -> bool:
    """An http(s) URL with a host that every reader's browser reads as we do."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        # Browsers (WHATWG URL) read "\\" as "/" where Python does not, so such a URL names
        # another host for a reader than for us; credentials and spaces do not belong in a
        # link anyone else follows.
        and not _AMBIGUOUS_IN_URL.search(value)
        and "@" not in parts.netloc
    )


def _boolean(raw: object, errors: dict[str, FieldError]) -> bool:
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    errors["notify_replies"] = FieldError("invalid_type", "notify_replies must be a boolean.")
    return False
