"""The Prometheus metrics of one app (its own registry, so several apps never collide).

Two kinds: the process's own (requests, latency, submissions), counted here, and
what Redis holds (queues, jobs, undecided comments, workers, the workers' counters), read
afresh at each scrape and exposed only from that reading.
"""

from __future__ import annotations

import itertools
import time
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from aiohttp.web import AbstractResource
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString


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


# Latency buckets (seconds), as Prometheus's `le` bounds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5)
LE = [*map(floatToGoString, BUCKETS), "+Inf"]  # the buckets' `le` labels, the last +Inf


class _Latencies:
    """One route's latency histogram: a count per bucket (the last is +Inf) and the sum."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(BUCKETS, seconds)] += 1  # le: a bound counts what equals it
        self.total += seconds


class _Answer:
    """One kind of answer (route, method, status): how many, into its route's histogram."""

    __slots__ = ("accepted", "count", "labels", "latency", "submission")

    def __init__(self, labels: tuple[str, str, str], latency: _Latencies, submission: bool) -> None:
        self.labels, self.latency, self.count = labels, latency, 0
        self.submission = submission  # POST /api/v1/comments
        self.accepted = submission and int(labels[2]) < 400


class Metrics:
    """The process's request metrics, counted in plain numbers and turned into Prometheus
    families at each scrape (a collector). prometheus_client's own Counter and Histogram
    take a lock per update: ~2 µs of each answer, a fortieth of reading a thread page.
    One app's event loop is their only writer. One registry per app, so tests and several
    apps in a process do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_RequestCollector(self))
        self.started = time.time()
        self.answers: dict[tuple[AbstractResource | None, str, int], _Answer] = {}
        self.latencies: dict[str, _Latencies] = {}
        self.submissions: dict[str, int] = {}

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
        answer = self.answers.get(key)
        if answer is None:
            answer = self.answers[key] = self._answer(resource, method, status)
        answer.count += 1
        answer.latency.observe(seconds)
        if answer.submission:  # accepted, or refused and labelled by why (which varies)
            outcome = "accepted" if answer.accepted else error_code or str(status)
            self.submissions[outcome] = self.submissions.get(outcome, 0) + 1

    def _answer(self, resource: AbstractResource | None, method: str, status: int) -> _Answer:
        route = resource.canonical if resource is not None else "unmatched"
        latency = self.latencies.setdefault(route, _Latencies())
        submission = route == "/api/v1/comments" and method == "POST"
        return _Answer((route, method, str(status)), latency, submission)

    def exposition(self, store: StoreFigures | None) -> bytes:
        """The scrape: this process's metrics, then Redis's (None: Redis did not answer)."""
        scraped = CollectorRegistry()
        scraped.register(_StoreCollector(store))
        return generate_latest(self.registry) + generate_latest(scraped)


class _RequestCollector(Collector):
    """`comments_http_requests`, `comments_http_request_seconds` and `comments_submissions`
    from a Metrics' numbers, as they are at the scrape."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        m = self.metrics
        requests = CounterMetricFamily(
            "comments_http_requests", "HTTP requests", labels=["route", "method", "status"]
        )
        counts: dict[tuple[str, str, str], int] = {}
        for answer in list(m.answers.values()):  # routes' resources may share a path
            counts[answer.labels] = counts.get(answer.labels, 0) + answer.count
        for labels, count in counts.items():
            requests.add_metric(labels, count, created=m.started)
        latency = HistogramMetricFamily(
            "comments_http_request_seconds", "Request latency", labels=["route"]
        )
        for route, histogram in list(m.latencies.items()):
            cumulative = itertools.accumulate(histogram.counts)
            latency.add_metric([route], list(zip(LE, cumulative, strict=True)), histogram.total)
        submissions = CounterMetricFamily(
            "comments_submissions", "Submissions by outcome", labels=["outcome"]
        )
        for outcome, count in list(m.submissions.items()):
            submissions.add_metric([outcome], count, created=m.started)
        yield from (requests, latency, submissions)


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
