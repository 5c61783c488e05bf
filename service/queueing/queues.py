"""The RQ queues: new comments first, then notifications, both JSON-serialised.

JSON, not pickle: job payloads are ids only, readable by any dashboard, and a payload
never carries anything a worker would have to trust.
"""

from __future__ import annotations

from enum import StrEnum

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from service.core.settings import Settings


class Lane(StrEnum):
    """Which queue a job waits in; workers serve them in this order."""

    COMMENTS = "comments"
    NOTIFY = "notify"


def queue_name(lane: Lane, settings: Settings) -> str:
    base = settings.queue_name
    return base if lane is Lane.COMMENTS else f"{base}-{lane.value}"


def queue(conn: redis.Redis, settings: Settings, lane: Lane = Lane.COMMENTS) -> Queue:
    return Queue(queue_name(lane, settings), connection=conn, serializer=JSONSerializer)


def all_queues(conn: redis.Redis, settings: Settings) -> list[Queue]:
    """Every queue the workers serve, in priority order: new comments, then notifications."""
    return [queue(conn, settings, lane) for lane in Lane]
