"""Every declared job resolves to the worker function that runs it; a wrong binding fails."""

from __future__ import annotations

import importlib
import inspect

import pytest

from service.core.settings import Settings
from service.queueing import jobs


@pytest.mark.parametrize("kind", jobs.ALL, ids=lambda kind: kind.function)
def test_every_declared_job_resolves_to_its_function(kind: jobs.JobKind) -> None:
    module, _, name = kind.path.rpartition(".")
    func = getattr(importlib.import_module(module), name, None)
    assert callable(func), f"{kind.path} does not exist"
    # Jobs carry one id each (RQ stores arguments in clear, so never more than an id).
    assert list(inspect.signature(func).parameters) == [*inspect.signature(func).parameters][:1]
    assert len(inspect.signature(func).parameters) == 1


def test_every_job_function_is_declared() -> None:
    module = importlib.import_module(jobs.JOBS_MODULE)
    public = {
        name
        for name, value in vars(module).items()
        if inspect.isfunction(value)
        and value.__module__ == module.__name__
        and not name.startswith("_")
    }
    assert public == {kind.function for kind in jobs.ALL}


def test_a_function_bound_to_the_wrong_declaration_fails_at_import() -> None:
    def notify_emial(comment_id: str) -> str:  # a typo of notify_email
        return comment_id

    notify_emial.__module__ = jobs.JOBS_MODULE
    with pytest.raises(jobs.JobBindingError, match=r"does not run workers\.jobs\.notify_email"):
        jobs.NOTIFY_EMAIL.runs(notify_emial)


def test_job_ids_are_deterministic_and_options_come_from_settings() -> None:

    settings = Settings(job_retry_intervals_s=(1, 2), notify_retry_intervals_s=(3,))
    decide = jobs.PROCESS_COMMENT.prepare("abc", settings, request_id="req-1")
    assert decide.job_id == "process-abc"
    assert decide.retry is not None
    assert (decide.retry.max, decide.retry.intervals) == (2, [1, 2])
    assert decide.meta == {"request_id": "req-1"}
    notify = jobs.NOTIFY_WEBHOOK.prepare("abc", settings)
    assert notify.job_id == "notify-webhook-abc"
    assert notify.retry is not None
    assert notify.retry.intervals == [3]
