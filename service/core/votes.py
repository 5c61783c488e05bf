"""Readers' votes on comments, and the "top" order. Pure.

A reader is a random key their widget keeps (`localStorage`); the service stores only a keyed
hash of it bound to the comment (`EmailVault.voter`), so the votes of one reader on two
comments cannot be linked, and no vote names a reader. "Top" ranks comments by the lower
bound of the Wilson score interval of their up-votes among all votes: one vote out of one is
not better than 40 out of 45, and a comment with no votes ranks with zero.
"""

from __future__ import annotations

import math
import re

READER_KEY_RE = re.compile(r"^[0-9a-f]{32}$")
UP, DOWN = "up", "down"
# 95 % confidence. The same formula runs in Redis (service/store/votes.py WILSON_LUA), where
# the top index is kept; a test holds the two together.
Z = 1.959964


def wilson(up: int, down: int) -> float:
    """Lower bound of the Wilson score interval for `up` successes in `up + down` votes."""
    n = up + down
    if n <= 0:
        return 0.0
    p = up / n
    z2 = Z * Z
    centre = p + z2 / (2 * n)
    spread = Z * math.sqrt((p * (1 - p) + z2 / (4 * n)) / n)
    return (centre - spread) / (1 + z2 / n)


def is_reader_key(value: object) -> bool:
    return isinstance(value, str) and READER_KEY_RE.match(value) is not None
