"""The Prometheus metrics of one app (its own registry, so several apps never collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
        self.queue_depth = Gauge("comments_queue_depth", "Jobs waiting", ["queue"], registry=r)
        self.queue_age = Gauge(
            "comments_queue_oldest_job_age_seconds",
            "Age of the oldest waiting job",
            ["queue"],
            registry=r,
        )
        self.jobs = Gauge("comments_jobs", "Jobs by state", ["queue", "state"], registry=r)
        self.undecided = Gauge(
            "comments_undecided", "Accepted comments not decided yet", registry=r
        )
        self.worker_events = Gauge(
            "comments_worker_events", "Counters kept by workers in Redis", ["event"], registry=r
        )
        self.workers = Gauge("comments_workers", "RQ workers registered", registry=r)
