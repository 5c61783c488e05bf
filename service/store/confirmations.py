"""A commenter confirming by email that a held comment is theirs.

Their address was known but the comment did not come from a browser they had been approved
from, so it was held as a new commenter's and the address's owner was asked. Confirming marks
the comment proven and sends it back to be scored again (HELD -> PENDING), now as the known
commenter's; the link is spent in the same transaction.
"""

from __future__ import annotations

import time

import redis
from redis.exceptions import WatchError

from service.core import keys
from service.core.records import decode_record
from service.core.settings import Settings
from service.core.signing import Purpose
from service.core.statuses import Status, parse
from service.store import transitions

DONE, DECIDED, MISSING, USED = "done", "decided", "missing", "used"


def confirm(
    conn: redis.Redis, settings: Settings, comment_id: str, nonce: str, link_ttl_s: int
) -> str:
    key, used = keys.comment(comment_id), keys.token_used(Purpose.CONFIRM, nonce)
    with conn.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(key, used)  # type: ignore[no-untyped-call]
                if pipe.exists(used):
                    return USED
                record = decode_record(pipe.hgetall(key))
                if not record:
                    return MISSING
                if parse(record.get("status")) is not Status.HELD:
                    return DECIDED  # a moderator (or an earlier confirmation) got there first
                now = time.time()
                pipe.multi()
                pipe.hset(key, "confirmed_at", f"{now:.6f}")
                record["confirmed_at"] = f"{now:.6f}"
                transitions.move(
                    conn, pipe, settings, record, Status.PENDING, by="commenter", now=now
                )
                pipe.set(used, "1", ex=link_ttl_s)
                pipe.execute()
                return DONE
            except WatchError:
                continue
