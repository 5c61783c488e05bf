"""Readers' reports: one per reader and comment, counted on the comment; thresholds flag it for
moderators and then hide it until they decide."""

from __future__ import annotations

import json
import time
from enum import StrEnum

import redis
from redis.exceptions import WatchError

from service.core import keys
from service.core.records import decode_record
from service.core.reports import Report
from service.core.settings import Settings
from service.core.statuses import Status, parse
from service.store import transitions


class Outcome(StrEnum):
    COUNTED = "counted"
    ALREADY = "already"  # this reader had reported it: nothing changes
    MISSING = "missing"  # not a published comment


def report(
    conn: redis.Redis, settings: Settings, comment_id: str, reporter: str, given: Report
) -> Outcome:
    """Record one reader's report; flag or hide the comment when it crosses a threshold."""
    key, reports = keys.comment(comment_id), keys.reports(comment_id)
    with conn.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(key, reports)  # type: ignore[no-untyped-call]
                record = decode_record(pipe.hgetall(key))
                if not record or parse(record.get("status")) is not Status.APPROVED:
                    return Outcome.MISSING
                if pipe.hexists(reports, reporter):
                    return Outcome.ALREADY
                count = int(record.get("reports") or 0) + 1
                now = time.time()
                entry = {"reason": given.reason, "statement": given.statement, "at": int(now)}
                pipe.multi()
                pipe.hset(reports, reporter, json.dumps(entry, ensure_ascii=False))
                pipe.hincrby(key, "reports", 1)
                # Crossing, not reaching: reports after a moderator's decision do not undo it.
                if count == settings.reports_flag:
                    pipe.zadd(keys.reported(), {comment_id: now})
                if count == settings.reports_hide:
                    # Held (moderators' queue), and listed as reported after the move, which
                    # clears that list for a decision.
                    transitions.move(
                        conn, pipe, settings, record, Status.HELD, by="reports", now=now
                    )
                    pipe.zadd(keys.reported(), {comment_id: now})
                pipe.execute()
                return Outcome.COUNTED
            except WatchError:
                continue
