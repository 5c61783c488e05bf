"""RQ jobs as `Queue.enqueue_many` stores them, at a fraction of its per-job cost.

RQ builds a Job object for every enqueue: about 160 µs per job on the benchmark machine, more
than validating, sealing and answering a comment together. The intake writer instead writes
each job's hash and queue entry itself, in the same Lua script as the comment (see
service/store/intake.py). All fields but five are the same for every job of a kind, so RQ
builds them once from a probe job; the five that depend on the argument, the request and the
time are computed per job the way RQ computes them. A test compares the result, field by
field, with what `enqueue_many` writes (but for the fields RQ leaves empty, which are left
out), and the jobs RQ reads back from both, so an RQ upgrade that changes the format fails
the tests, not production.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
import redis
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from rq.utils import get_call_string, utcformat

from service.core.settings import Settings
from service.queueing.jobs import JobKind
from service.queueing.queues import queue

# What RQ computes per job; everything else comes from the probe.
PER_JOB = frozenset({"created_at", "enqueued_at", "data", "description", "meta"})
# Job.get_call_string's truncation of long arguments in the description.
DESCRIPTION_ARG_MAX = 75
Value = str | bytes | int
# Stands for the argument while the parts around it are made (no id contains it).
_MARKER = "\x00argument\x00"
# RQ's own JSON serializer, the one our queues use (untyped in RQ).
_dumps: Callable[[object], bytes] = JSONSerializer.dumps


@dataclass(frozen=True, slots=True)
class JobHashes:
    """The jobs of one kind: their keys, their queue, and their hash fields."""

    kind: JobKind
    queue_key: str
    fixed: tuple[Value, ...]  # field, value, field, value... shared by every job
    # RQ's JSON of the call and of the meta, as the bytes before and after the one string that
    # varies: json.dumps of a list or dict builds an encoder on every call, which was most of
    # the ~5 µs a job cost; of a lone string it is one C call.
    call_around: tuple[bytes, bytes]
    meta_around: tuple[bytes, bytes]
    description_around: tuple[str, str]  # RQ's description, around the argument's repr

    @classmethod
    def of(cls, kind: JobKind, settings: Settings) -> JobHashes:
        # A client that never connects: building a job does no I/O.
        target = queue(redis.Redis(), settings, kind.lane)
        data = kind.prepare("probe", settings)
        probe = target.create_job(
            data.func,
            args=data.args,
            kwargs=data.kwargs,
            timeout=data.timeout,
            result_ttl=data.result_ttl,
            job_id=data.job_id,
            retry=data.retry,
            status=JobStatus.QUEUED,
        )
        # What Queue._prepare_for_queue adds before saving (its server-version look-up is
        # not stored in the hash).
        probe.origin = target.name
        probe.enqueued_at = datetime.now(UTC)
        fields = probe.to_dict()
        # Not the fields RQ writes empty (callbacks, worker, heartbeat, start and end...):
        # Job.restore reads an empty field and an absent one alike, and each costs Redis
        # ~5,000 instructions a job to write (callgrind) and the job hash ~20 bytes.
        fixed = tuple(
            part
            for name, value in fields.items()
            if name not in PER_JOB and value != ""
            for part in (name, value.value if isinstance(value, JobStatus) else value)
        )
        call = _around(lambda arg: (kind.path, None, (arg,), {}))
        meta = _around(lambda rid: {"request_id": rid})
        description = get_call_string(kind.path, (_MARKER,), {}) or ""
        before, _, after = description.partition(repr(_MARKER))
        return cls(kind, target.key, fixed, call, meta, (before, after))

    def job_id(self, arg: str) -> str:
        return self.kind.job_id(arg)

    def key(self, arg: str) -> str:
        return self.key_of(self.job_id(arg))

    def key_of(self, job_id: str) -> str:
        return Job.key_for(job_id)

    def varying(self, arg: str, request_id: str | None) -> tuple[bytes, str, bytes]:
        """The fields that differ between jobs of this kind, but for the times: `data` (the
        call), `description` and `meta` (b"" without a request)."""
        # RQ's call, as its JSON serializer writes it, stored uncompressed: RQ reads a `data`
        # that is no zlib stream as it is (Job.restore), and compressing ~90 bytes saved
        # nothing but cost more than the rest of the job.
        data = _between(self.call_around, arg)
        shown = repr(arg)
        if len(shown) <= DESCRIPTION_ARG_MAX:  # else RQ truncates it: let RQ say how
            description = shown.join(self.description_around)
        else:
            description = get_call_string(self.kind.path, (arg,), {}, DESCRIPTION_ARG_MAX) or ""
        meta = _between(self.meta_around, request_id) if request_id else b""
        return data, description, meta

    def fields(self, arg: str, request_id: str | None, stamp: str) -> list[Value]:
        """The whole hash of the job running `arg`; `stamp` is `timestamp(now)`."""
        data, description, meta = self.varying(arg, request_id)
        fields: list[Value] = [*self.fixed, "created_at", stamp, "enqueued_at", stamp]
        fields += ["data", data, "description", description]
        return fields + (["meta", meta] if meta else [])


def _around(shape: Callable[[str], object]) -> tuple[bytes, bytes]:
    """RQ's JSON of `shape(text)`, cut around where `text` goes."""
    before, found, after = _dumps(shape(_MARKER)).partition(_dumps(_MARKER))
    assert found, "RQ's serializer wrote the string otherwise than alone"
    return before, after


def _between(around: tuple[bytes, bytes], text: str) -> bytes:
    # A lone string, ASCII-escaped as RQ's serializer escapes it inside the whole. orjson
    # writes printable ASCII exactly so (ids are), at a fifth of the json module's cost.
    if text.isascii() and text.isprintable():
        return around[0] + orjson.dumps(text) + around[1]
    return around[0] + _dumps(text) + around[1]


def timestamp(now: float) -> str:
    """A job's created_at / enqueued_at, as RQ formats them."""
    return utcformat(datetime.fromtimestamp(now, UTC))
