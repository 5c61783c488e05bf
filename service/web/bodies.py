"""Request bodies: a JSON object or a urlencoded form, or the standard 415/400 error."""

from __future__ import annotations

import json
from collections.abc import Mapping

from aiohttp import web

from service.web.errors import ApiError

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


async def read_json(request: web.Request) -> dict[str, object]:
    """A JSON object body, or the standard 415/400 error."""
    if request.content_type != JSON:
        raise ApiError(415, "unsupported_media_type", f"Send {JSON}.")
    raw = await request.read()  # over client_max_size: aiohttp raises 413
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "malformed_json", "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "The JSON body must be an object.")
    return data


async def read_fields(request: web.Request) -> Mapping[str, object]:
    if request.content_type == JSON:
        return await read_json(request)
    if request.content_type == FORM:
        # Undecodable bytes arrive as U+FFFD (aiohttp decodes with replacement), never an error.
        form = await request.post()
        return {name: form.get(name) for name in form if isinstance(form.get(name), str)}
    raise ApiError(415, "unsupported_media_type", f"Send {JSON} or {FORM}.")
