"""The status model: every move in the table, and every move outside it, against real Redis.

Whatever path moved a comment (decision, moderator, link, erasure), what its status means must
hold afterwards: the indexes it is listed in, its thread membership and the reputation it
earned.
"""

from __future__ import annotations

import itertools
import time
from collections import deque

import pytest
import redis
from rq.job import Job
from rq.serializers import JSONSerializer

from service.core import keys
from service.core.records import decode_record
from service.core.settings import Settings
from service.core.statuses import (
    MODERATOR_ACTIONS,
    TRANSITIONS,
    Status,
    TransitionError,
    can_move,
)
from service.store import transitions
from service.store.intake import store_batch
from tests.helpers import email_hash

ARTICLE = "story-statuses"


def new_comment(conn: redis.Redis, settings: Settings, *, reply_to: str | None = None) -> str:
    """A freshly accepted comment, written as the intake writes it."""
    comment_id = keys.new_comment_id(ARTICLE)
    record = {
        "id": comment_id,
        "article": ARTICLE,
        "name": "Maria",
        "comment": "A thought.",
        "status": Status.PENDING.value,
        "created_at": f"{time.time():.6f}",
        "email_hash": email_hash("maria@example.com"),
        "ip": "198.51.100.7",
        "website": "https://maria.example.net",
        **({"parent_id": reply_to} if reply_to else {}),
    }
    store_batch(conn, settings, {comment_id: record})
    return comment_id


def move(conn: redis.Redis, settings: Settings, comment_id: str, to: Status) -> Status:
    record = decode_record(conn.hgetall(keys.comment(comment_id)))
    with conn.pipeline(transaction=True) as pipe:
        before = transitions.move(conn, pipe, settings, record, to, by="tests", now=time.time())
        pipe.execute()
    return before


def path_to(target: Status) -> list[Status]:
    """The shortest run of allowed moves from PENDING to `target`."""
    paths = {Status.PENDING: [Status.PENDING]}
    todo = deque([Status.PENDING])
    while todo:
        status = todo.popleft()
        for after in sorted(TRANSITIONS[status]):
            if after not in paths:
                paths[after] = [*paths[status], after]
                todo.append(after)
    return paths[target]


def assert_means(conn: redis.Redis, comment_id: str, status: Status) -> None:
    """What being in `status` means, checked in Redis."""
    record = decode_record(conn.hgetall(keys.comment(comment_id)))
    assert record["status"] == status
    assert (conn.zscore(keys.pending(), comment_id) is not None) == (status is Status.PENDING)
    assert (conn.zscore(keys.held(), comment_id) is not None) == (status is Status.HELD)
    assert (conn.zscore(keys.spam_folder(), comment_id) is not None) == (status is Status.SPAM)
    public = conn.zscore(keys.thread(ARTICLE), comment_id) is not None
    assert public == (status is Status.APPROVED)
    approved = conn.hget(keys.email_reputation(record["email_hash"]), "approved")
    assert int(approved or 0) == (status is Status.APPROVED)


def test_every_status_is_reachable_from_pending() -> None:
    for status in Status:
        assert path_to(status)[-1] is status


@pytest.mark.parametrize(
    ("before", "after"), [(b, a) for b in Status for a in Status if a in TRANSITIONS[b]]
)
def test_every_allowed_move_leaves_the_comment_where_its_status_says(
    rconn: redis.Redis, settings: Settings, before: Status, after: Status
) -> None:
    comment_id = new_comment(rconn, settings)
    for step in path_to(before)[1:]:
        move(rconn, settings, comment_id, step)
    assert_means(rconn, comment_id, before)
    version = int(rconn.get(keys.thread_version(ARTICLE)) or 0)

    assert move(rconn, settings, comment_id, after) is before
    assert_means(rconn, comment_id, after)
    # Readers' caches are told exactly when the public thread changed.
    changed = Status.APPROVED in (before, after)
    assert (int(rconn.get(keys.thread_version(ARTICLE)) or 0) > version) == changed


@pytest.mark.parametrize(
    ("before", "after"), [(b, a) for b in Status for a in Status if a not in TRANSITIONS[b]]
)
def test_a_move_outside_the_table_is_refused_and_writes_nothing(
    rconn: redis.Redis, settings: Settings, before: Status, after: Status
) -> None:
    comment_id = new_comment(rconn, settings)
    for step in path_to(before)[1:]:
        move(rconn, settings, comment_id, step)
    state = {key: rconn.dump(key) for key in rconn.scan_iter()}
    with pytest.raises(TransitionError):
        move(rconn, settings, comment_id, after)
    assert {key: rconn.dump(key) for key in rconn.scan_iter()} == state


def test_publishing_a_reply_queues_the_reply_notice_and_rescoring_queues_a_decision(
    rconn: redis.Redis, settings: Settings
) -> None:
    parent = new_comment(rconn, settings)
    reply = new_comment(rconn, settings, reply_to=parent)
    move(rconn, settings, reply, Status.APPROVED)
    notice = Job.fetch(keys.reply_job(reply), connection=rconn, serializer=JSONSerializer)
    assert notice.func_name == "workers.jobs.notify_reply"
    assert notice.args == [reply]

    rconn.delete(Job.key_for(keys.process_job(reply)))
    move(rconn, settings, reply, Status.PENDING)  # an edit sends it back to be scored
    decision = Job.fetch(keys.process_job(reply), connection=rconn, serializer=JSONSerializer)
    assert decision.func_name == "workers.jobs.process_comment"


def test_spam_marks_its_sources(rconn: redis.Redis, settings: Settings) -> None:
    comment_id = new_comment(rconn, settings)
    move(rconn, settings, comment_id, Status.SPAM)
    assert rconn.get(keys.ip_reputation("198.51.100.7")) == b"1"
    assert rconn.get(keys.domain_reputation("maria.example.net")) == b"1"
    assert rconn.hget(keys.email_reputation(email_hash("maria@example.com")), "spam") == b"1"


def test_erasure_reaches_every_status_and_nothing_leaves_deleted() -> None:
    assert all(can_move(s, Status.DELETED) for s in Status if s is not Status.DELETED)
    assert TRANSITIONS[Status.DELETED] == frozenset()


def test_moderator_actions_stay_inside_the_table() -> None:
    for (name, action), before in itertools.product(MODERATOR_ACTIONS.items(), Status):
        if action.allowed_from(before):
            assert can_move(before, action.target), name
    # "Not spam" restores from the spam folder only.
    ham = MODERATOR_ACTIONS["ham"]
    assert [s for s in Status if ham.allowed_from(s)] == [Status.SPAM]
