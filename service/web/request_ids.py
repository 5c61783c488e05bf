"""Request ids: taken from the caller when well-formed, else made; echoed and logged."""

from __future__ import annotations

import random
import re
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from service.core.logs import request_id

_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Take the caller's X-Request-ID if it is well-formed, else make one; echo it back."""
    given = request.headers.get("X-Request-ID", "")
    # No secret (callers choose their own): random, not secrets, which makes a system call.
    made = f"{int(time.time())}-{random.getrandbits(48):012x}"
    current = given if _VALID_ID.match(given) else made
    token = request_id.set(current)
    try:
        try:
            response = await handler(request)
        except web.HTTPException as answer:
            answer.headers["X-Request-ID"] = current
            raise
        response.headers["X-Request-ID"] = current
        return response
    finally:
        request_id.reset(token)
