"""The job registry: every kind of job, the function that runs it, and how it is queued.

The API and the workers both enqueue, but the API never imports worker code (the text model
and its numpy weights stay out of the API process). So each job is declared here once, with
its lane, id and run options, and `workers/jobs.py` binds its function to the declaration
with `@JOB.runs`, which checks the function's name when it is imported. A test resolves
every declared job to its function: a rename fails the tests, not production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import ParamSpec, TypeVar

import redis
from redis.client import Pipeline
from rq import Queue, Retry
from rq.queue import EnqueueData

from service.core import keys
from service.core.settings import Settings
from service.queueing.queues import Lane, queue

# RQ imports jobs by dotted path; this module is where every job function lives.
JOBS_MODULE = "workers.jobs"
# A notification is one SMTP or HTTP exchange with 10 s timeouts: a minute is generous.
NOTIFY_TIMEOUT_S = 60
# How long RQ keeps a finished job and its result. A decision's outcome lives in the comment
# record (status, score, reasons, decided_at), so a finished decision job is deleted at once:
# keeping its result (a stream of its own) and hash for 10 minutes cost ~6.6 KB a comment, more
# than the comment itself. A notification's outcome ("sent", "unknown address") is kept an hour
# for debugging. Failed jobs of both kinds stay in RQ's failed registry (redacted) for operators.
DECIDE_RESULT_TTL_S = 0
NOTIFY_RESULT_TTL_S = 3600

P = ParamSpec("P")
R = TypeVar("R")


class JobBindingError(RuntimeError):
    """A job function does not match the declaration it claims to run."""


@dataclass(frozen=True, slots=True)
class RunOptions:
    timeout_s: int
    retry_intervals_s: tuple[int, ...]
    result_ttl_s: int


def run_options(lane: Lane, settings: Settings) -> RunOptions:
    """Deciding a comment retries quickly; notifications retry for about a day, because mail
    servers and chat webhooks go down for hours."""
    if lane is Lane.COMMENTS:
        return RunOptions(
            settings.job_timeout_s, settings.job_retry_intervals_s, DECIDE_RESULT_TTL_S
        )
    return RunOptions(NOTIFY_TIMEOUT_S, settings.notify_retry_intervals_s, NOTIFY_RESULT_TTL_S)


@dataclass(frozen=True, slots=True)
class JobKind:
    function: str
    lane: Lane
    # Deterministic id from the job's argument: enqueueing the same work twice is one job.
    job_id: Callable[[str], str]

    @property
    def path(self) -> str:
        return f"{JOBS_MODULE}.{self.function}"

    def runs(self, func: Callable[P, R]) -> Callable[P, R]:
        """Decorator for the function in workers/jobs.py that performs this job."""
        if func.__module__ != JOBS_MODULE or func.__name__ != self.function:
            raise JobBindingError(f"{func.__module__}.{func.__name__} does not run {self.path}")
        return func

    def prepare(self, arg: str, settings: Settings, request_id: str | None = None) -> EnqueueData:
        options = run_options(self.lane, settings)
        intervals = options.retry_intervals_s
        return Queue.prepare_data(
            self.path,
            args=(arg,),
            job_id=self.job_id(arg),
            timeout=options.timeout_s,
            retry=Retry(max=len(intervals), interval=list(intervals)) if intervals else None,
            result_ttl=options.result_ttl_s,
            # The request that caused the job, so its log lines can be followed across.
            meta={"request_id": request_id} if request_id else None,
        )


PROCESS_COMMENT = JobKind("process_comment", Lane.COMMENTS, keys.process_job)
NOTIFY_EMAIL = JobKind("notify_email", Lane.NOTIFY, partial(keys.notify_job, "email"))
NOTIFY_WEBHOOK = JobKind("notify_webhook", Lane.NOTIFY, partial(keys.notify_job, "webhook"))
NOTIFY_REPLY = JobKind("notify_reply", Lane.NOTIFY, keys.reply_job)
SEND_PRIVACY_LINK = JobKind("send_privacy_link", Lane.NOTIFY, keys.privacy_link_job)
SEND_CONFIRMATION = JobKind("send_confirmation", Lane.NOTIFY, keys.confirmation_job)
SEND_SIGNIN_LINK = JobKind("send_signin_link", Lane.NOTIFY, keys.signin_job)
# A moderator's spam / not-spam verdict, told to Akismet (when it is on).
AKISMET_SPAM = JobKind("akismet_submit_spam", Lane.NOTIFY, partial(keys.akismet_job, "spam"))
AKISMET_HAM = JobKind("akismet_submit_ham", Lane.NOTIFY, partial(keys.akismet_job, "ham"))
# Notifications collapsed in a wave, and the daily spam-folder digest; the argument is the
# batch (when it was cut).
DIGEST_EMAIL = JobKind("digest_email", Lane.NOTIFY, partial(keys.digest_job, "email"))
DIGEST_WEBHOOK = JobKind("digest_webhook", Lane.NOTIFY, partial(keys.digest_job, "webhook"))
SPAM_DIGEST_EMAIL = JobKind(
    "spam_digest_email", Lane.NOTIFY, partial(keys.digest_job, "spam-email")
)
SPAM_DIGEST_WEBHOOK = JobKind(
    "spam_digest_webhook", Lane.NOTIFY, partial(keys.digest_job, "spam-webhook")
)
ALL = (
    PROCESS_COMMENT,
    NOTIFY_EMAIL,
    NOTIFY_WEBHOOK,
    NOTIFY_REPLY,
    SEND_PRIVACY_LINK,
    SEND_CONFIRMATION,
    SEND_SIGNIN_LINK,
    AKISMET_SPAM,
    AKISMET_HAM,
    DIGEST_EMAIL,
    DIGEST_WEBHOOK,
    SPAM_DIGEST_EMAIL,
    SPAM_DIGEST_WEBHOOK,
)
NOTIFY_BY_CHANNEL = {"email": NOTIFY_EMAIL, "webhook": NOTIFY_WEBHOOK}
AKISMET_BY_LABEL = {"spam": AKISMET_SPAM, "ham": AKISMET_HAM}
DIGEST_BY_CHANNEL = {"email": DIGEST_EMAIL, "webhook": DIGEST_WEBHOOK}
SPAM_DIGEST_BY_CHANNEL = {"email": SPAM_DIGEST_EMAIL, "webhook": SPAM_DIGEST_WEBHOOK}


def enqueue(
    conn: redis.Redis,
    settings: Settings,
    kind: JobKind,
    args: Iterable[str],
    *,
    pipeline: Pipeline | None = None,
    request_ids: dict[str, str] | None = None,
) -> None:
    """One job per argument; inside `pipeline`, they land with the caller's writes or not at all."""
    jobs = [kind.prepare(arg, settings, (request_ids or {}).get(arg)) for arg in args]
    if jobs:
        queue(conn, settings, kind.lane).enqueue_many(jobs, pipeline=pipeline)
