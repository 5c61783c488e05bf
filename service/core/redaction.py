"""Email redaction for text that leaves the process: log lines, stored job failures, operator
output.

Deliberately broad: over-redacting a log line costs nothing, leaking an address costs trust.
So instead of recognising addresses, it looks for anything that could be an "@" (itself, its
full-width forms, percent-encoded once or more, an HTML entity, a JSON or Python escape) and
replaces the whole run of text around it, up to whitespace or punctuation that cannot be part
of an unquoted address. That catches internationalised addresses in any encoding, addresses
inside URLs and user agents, and Python reprs of the bytes a mail server answered, and it runs
in linear time however long the line.
"""

from __future__ import annotations

import logging
import re

MARKER = "[email]"

# Every form of "@" seen in logs: "@", full-width and small "@", "%40" (and "%2540" from a
# URL inside a URL), "&#64;"/"&#x40;", and "\u0040"/"\x40" from JSON and Python reprs.
_AT = r"(?:@|\uff20|\ufe6b|%(?:25)*40|&#0*64;?|&#x0*40;?|\\u0*40|\\x40)"
# What ends a run around an "@": whitespace and the punctuation that delimits addresses in
# prose, headers, JSON and reprs (quotes, brackets, commas). Quoted local parts
# ("john doe"@example.org) and domain literals (x@[192.0.2.1]) get their own alternatives.
_STOP = r"\s\"<>()\[\]{},"
_RUNS = re.compile(
    rf'"[^"\n]*"{_AT}[^{_STOP}]*'  # "quoted local part"@domain
    rf"|[^{_STOP}]*{_AT}\[[^\]\s]*\]"  # local@[domain literal]
    rf"|[^{_STOP}]+",  # any other run: redacted if it holds an "@"
    re.IGNORECASE,
)
_HAS_AT = re.compile(_AT, re.IGNORECASE)
# A token the one signer made (service/core/signing.py): a one-click, privacy or sign-in link
# in an access log line is a credential until it expires, so log lines never carry one.
TOKEN_MARKER = "[token]"  # noqa: S105 (what replaces a token, not one)
_TOKENS = re.compile(r"v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{24}")


def redact(text: str) -> str:
    """`text` with every run that holds any form of "@" replaced by "[email]"."""
    if not _HAS_AT.search(text):
        return text
    return _RUNS.sub(_redact_run, text)


def _redact_run(match: re.Match[str]) -> str:
    run = match.group()
    # A lone "@" (`a @ b`) has nothing around it to hide.
    return MARKER if _HAS_AT.search(run) and not _HAS_AT.fullmatch(run) else run


def redact_tokens(text: str) -> str:
    """`text` with every signed token replaced by "[token]"."""
    return _TOKENS.sub(TOKEN_MARKER, text)


class RedactingFilter(logging.Filter):
    """Rewrites every record so no email address (nor signed token) reaches a log handler:
    the message with its arguments, the traceback and the stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = redact_tokens(record.getMessage())
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = redact(message), None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
