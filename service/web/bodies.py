"""Request bodies: a JSON object or a urlencoded form, or the standard 415/400 error.

Every endpoint that takes a body reads it here, so a hostile one (nesting that exhausts the
stack, bytes that are not text) gets the same 400 everywhere instead of a traceback.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from urllib.parse import parse_qsl

from aiohttp import web

from service.web.errors import ApiError

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
# Nothing the API accepts nests deeper than 2; the limit only refuses what no client needs
# and keeps deep structures away from code that walks them recursively.
MAX_JSON_DEPTH = 32
# As aiohttp's own form reader (client_max_fields): more is a body built to cost us time.
MAX_FORM_FIELDS = 1000
# Browsers send urlencoded forms as UTF-8 (or plain ASCII) and seldom name a charset at all.
FORM_CHARSETS = frozenset({"utf-8", "ascii"})


async def read_json(request: web.Request) -> dict[str, object]:
    """A JSON object body, or the standard 415/400 error."""
    if request.content_type != JSON:
        raise ApiError(415, "unsupported_media_type", f"Send {JSON}.")
    raw = await request.read()  # over client_max_size: aiohttp raises 413
    try:
        data = json.loads(raw)
    except RecursionError:  # the C parser gives up on deep nesting before its stack does
        raise _too_deep() from None
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "malformed_json", "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        if _depth(data) > MAX_JSON_DEPTH:
            raise _too_deep()
        raise ApiError(400, "invalid_body", "The JSON body must be an object.")
    # Nearly every body is one flat object: no need to walk it. Nesting needs a "[" or a second
    # "{" somewhere in the bytes (brackets cannot be escaped), which C finds faster than Python
    # looks at each value.
    nested = b"[" in raw or raw.count(b"{") > 1
    if nested and _depth(data) > MAX_JSON_DEPTH:
        raise _too_deep()
    return data


async def read_form(request: web.Request) -> dict[str, str]:
    """A urlencoded form's fields (the first value of each name), decoded strictly as UTF-8:
    text the reader did not type (U+FFFD in place of what did not decode) is never stored."""
    fields: dict[str, str] = {}
    for name, value in await read_form_pairs(request):
        fields.setdefault(name, value)
    return fields


async def read_form_pairs(request: web.Request) -> list[tuple[str, str]]:
    """Every (name, value) of a urlencoded form in order, for fields sent many times (the
    workspace's selected comments); decoded as `read_form` does."""
    raw = await request.read()  # over client_max_size: aiohttp raises 413
    if _charset_name(request.charset or "utf-8") not in FORM_CHARSETS:
        raise _not_utf8()
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except UnicodeError:  # in the bytes, or in what a %XX escape stands for
        raise _not_utf8() from None
    except ValueError:  # parse_qsl: more fields than max_num_fields
        raise ApiError(
            413, "payload_too_large", f"The form has more than {MAX_FORM_FIELDS} fields."
        ) from None
    return pairs


async def read_fields(request: web.Request) -> Mapping[str, object]:
    if request.content_type == JSON:
        return await read_json(request)
    if request.content_type == FORM:
        return await read_form(request)
    raise ApiError(415, "unsupported_media_type", f"Send {JSON} or {FORM}.")


def _not_utf8() -> ApiError:
    return ApiError(
        400,
        "malformed_form",
        "The form data is not valid UTF-8. Send it as UTF-8 "
        '(an HTML form can say accept-charset="UTF-8").',
    )


def _too_deep() -> ApiError:
    return ApiError(
        400, "malformed_json", f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep."
    )


def _depth(value: object) -> int:
    """How deeply arrays and objects nest in a parsed JSON value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in item)
    return deepest


def _charset_name(label: str) -> str:
    """Python's name for a charset label ("UTF8", "us-ascii"), or "" for an unknown one."""
    try:
        return codecs.lookup(label).name
    except LookupError:
        return ""
