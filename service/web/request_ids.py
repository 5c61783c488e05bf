"""Request ids: taken from the caller when well-formed, else made; echoed and logged."""

from __future__ import annotations

import random
import re
import time

_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id_of(given: str | None) -> str:
    """The caller's X-Request-ID if it is well-formed, else a new one."""
    if given and _VALID_ID.match(given):
        return given
    # No secret (callers choose their own): random, not secrets, which makes a system call.
    return f"{int(time.time())}-{random.getrandbits(48):012x}"
