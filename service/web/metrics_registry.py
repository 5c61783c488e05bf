"""The Prometheus metrics of one app (its own registry, so several apps never collide).

Two kinds: the process's own (requests, latency, submissions), kept in the registry, and
what Redis holds (queues, jobs, undecided comments, workers, the workers' counters), read
afresh at each scrape and exposed only from that reading.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from aiohttp.web import AbstractResource
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


@dataclass(frozen=True, slots=True)
class QueueFigures:
    name: str
    depth: int
    oldest_age_s: float
    jobs: Mapping[str, int]  # by state: failed, started, scheduled


@dataclass(frozen=True, slots=True)
class StoreFigures:
    """What Redis said at one scrape."""

    queues: Sequence[QueueFigures]
    undecided: int
    workers: int
    worker_events: Mapping[str, float]


# Methods named in the labels; the others aiohttp's parser accepts (some thirty: WebDAV's and
# more) count as "OTHER", so clients cannot multiply the series by sending each of them.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class _Answer:
    count: Counter
    latency: Histogram
    submission: bool
    accepted: Counter | None  # a submission's answer that accepted it


class Metrics:
    """One registry per app, so tests and several apps in a process do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "comments_http_requests", "HTTP requests", ["route", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "comments_http_request_seconds",
            "Request latency",
            ["route"],
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5),
        )
        self.submissions = Counter(
            "comments_submissions", "Submissions by outcome", ["outcome"], registry=r
        )
        # The labelled series of each answer kind: prometheus_client's labels() takes ~3 µs,
        # a twentieth of a small answer, so it runs once per kind rather than per request.
        self._answers: dict[tuple[AbstractResource | None, str, int], _Answer] = {}

    def answered(
        self,
        resource: AbstractResource | None,
        method: str,
        status: int,
        error_code: str | None,
        seconds: float,
    ) -> None:
        """One answer of the route that `resource` serves (None: no route matched)."""
        if method not in METHODS:
            method = "OTHER"
        key = (resource, method, status)
        answer = self._answers.get(key)
        if answer is None:
            answer = self._answers[key] = self._answer(resource, method, status)
        answer.count.inc()
        answer.latency.observe(seconds)
        if answer.accepted is not None:
            answer.accepted.inc()
        elif answer.submission:  # refused: labelled by why, which varies
            self.submissions.labels(error_code or str(status)).inc()

    def _answer(self, resource: AbstractResource | None, method: str, status: int) -> _Answer:
        route = resource.canonical if resource is not None else "unmatched"
        submission = route == "/api/v1/comments" and method == "POST"
        return _Answer(
            self.requests.labels(route, method, str(status)),
            self.latency.labels(route),
            submission,
            self.submissions.labels("accepted") if submission and status < 400 else None,
        )

    def exposition(self, store: StoreFigures | None) -> bytes:
        """The scrape: this process's metrics, then Redis's (None: Redis did not answer)."""
        scraped = CollectorRegistry()
        scraped.register(_StoreCollector(store))
        return generate_latest(self.registry) + generate_latest(scraped)


class _StoreCollector(Collector):
    """`comments_redis_up`, and the Redis-backed gauges only when Redis answered.

    Left out rather than NaN or the last value seen, as Prometheus exporters do (`up`, then
    nothing they could not read): a missing series goes stale at once and `absent()` alerts
    on it, a stale value would look healthy, and NaN makes every comparison false, so an
    alert such as `comments_queue_depth > 100` would silently never fire."""

    def __init__(self, store: StoreFigures | None) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        store = self.store
        yield GaugeMetricFamily(
            "comments_redis_up", "1 if Redis answered this scrape", value=int(store is not None)
        )
        if store is None:
            return
        depth = GaugeMetricFamily("comments_queue_depth", "Jobs waiting", labels=["queue"])
        age = GaugeMetricFamily(
            "comments_queue_oldest_job_age_seconds",
            "Age of the oldest waiting job",
            labels=["queue"],
        )
        jobs = GaugeMetricFamily("comments_jobs", "Jobs by state", labels=["queue", "state"])
        for queue in store.queues:
            depth.add_metric([queue.name], queue.depth)
            age.add_metric([queue.name], queue.oldest_age_s)
            for state, jobs_in_state in queue.jobs.items():
                jobs.add_metric([queue.name, state], jobs_in_state)
        events = GaugeMetricFamily(
            "comments_worker_events", "Counters kept by workers in Redis", labels=["event"]
        )
        for event, count in sorted(store.worker_events.items()):
            events.add_metric([event], count)
        yield from (depth, age, jobs, events)
        yield GaugeMetricFamily(
            "comments_undecided", "Accepted comments not decided yet", value=store.undecided
        )
        yield GaugeMetricFamily("comments_workers", "RQ workers registered", value=store.workers)
