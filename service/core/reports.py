"""Readers' reports on published comments: the reasons and what a report must say. Pure.

A report of illegal content needs a statement explaining why (EU Digital Services Act, art.
16: a substantiated notice). One report counts per reader and comment; past one threshold the
comment enters the moderators' Reported queue, past a higher one it is hidden (held) until a
moderator decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from service.core.validation import FieldError
from service.core.votes import is_reader_key

REASONS = ("spam", "abuse", "off-topic", "illegal")
NEEDS_STATEMENT = frozenset({"illegal"})
MAX_STATEMENT = 2000


@dataclass(frozen=True, slots=True)
class Report:
    reader: str
    reason: str
    statement: str


def validate_report(data: Mapping[str, object]) -> tuple[Report | None, dict[str, FieldError]]:
    """A report from a request body, or the errors by field."""
    errors: dict[str, FieldError] = {}
    reader, reason, statement = data.get("reader"), data.get("reason"), data.get("statement")
    if not is_reader_key(reader):
        errors["reader"] = FieldError("invalid_reader_key", "reader must be 32 hex characters.")
    if reason not in REASONS:
        errors["reason"] = FieldError("invalid", "reason must be one of " + ", ".join(REASONS))
    if statement is None:
        statement = ""
    if not isinstance(statement, str):
        errors["statement"] = FieldError("invalid_type", "statement must be text.")
    elif len(statement.strip()) > MAX_STATEMENT:
        message = f"statement must be at most {MAX_STATEMENT} characters."
        errors["statement"] = FieldError("too_long", message, MAX_STATEMENT)
    elif reason in NEEDS_STATEMENT and not statement.strip():
        message = "Say why this is illegal: a statement is required."
        errors["statement"] = FieldError("required", message)
    if errors:
        return None, errors
    return Report(str(reader), str(reason), str(statement).strip()), {}
