"""Request ids: taken from the caller when well-formed, else made; echoed and logged."""

from __future__ import annotations

import itertools
import os
import random
import re

_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _start() -> None:
    """A new series of ids: 48 random bits name the process (no secret: callers choose their
    own ids), a counter each request. Unique without a random draw per request (a fifth of
    the cost of an id); again in a forked child, which must not repeat its parent's."""
    global _prefix, _counter
    _prefix, _counter = f"{random.getrandbits(48):012x}-", itertools.count(1)


_prefix, _counter = "", itertools.count(1)
_start()
os.register_at_fork(after_in_child=_start)


def request_id_of(given: str | None) -> str:
    """The caller's X-Request-ID if it is well-formed, else a new one."""
    if given and _VALID_ID.match(given):
        return given
    return f"{_prefix}{next(_counter):x}"
