"""Online learning: the text model learns from moderators' spam/ham decisions.

Small steps, each followed by a replay of shipped training examples, so one moderator's
mistake nudges the model instead of flipping it; memory is bounded (a fixed weight vector
and a capped label stream). The learned model lives in Redis, so every worker uses it; the
shipped artifact stays the baseline (what `comments spam eval` measures).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Sequence

import numpy as np
import redis

from service.core import keys
from service.core.records import as_text
from workers import datasets
from workers.datasets import Example
from workers.textmodel import TextModel, features, sgd_step

LEARNING_RATE = 0.3
REPLAY_PER_LABEL = 4
L2 = 1e-6
BATCH = 200


def load(conn: redis.Redis, baseline: TextModel) -> tuple[int, TextModel]:
    """The current learned model and its version (0: nothing learned yet, the baseline)."""
    version = int(conn.get(keys.model_version()) or 0)
    blob = conn.get(keys.model_weights()) if version else None
    if not isinstance(blob, bytes):
        return 0, baseline
    (bias,) = struct.unpack("<d", blob[:8])
    return version, TextModel(np.frombuffer(blob[8:], dtype="<f4").copy(), bias)


def learn(conn: redis.Redis, baseline: TextModel, replay: Sequence[Example], seed: int = 0) -> int:
    """Apply labels not yet learned; returns how many. One learner at a time (lock)."""
    if not conn.set(keys.learn_lock(), "1", nx=True, ex=120):
        return 0
    try:
        cursor = as_text(conn.get(keys.labels_cursor()) or b"0-0")
        entries = conn.xrange(keys.labels(), min=f"({cursor}", count=BATCH) or []
        if not entries:
            return 0
        _, model = load(conn, baseline)
        weights, bias = model.weights.astype(np.float64), model.bias
        rng = np.random.default_rng(seed)
        for _, fields in entries:
            label = {as_text(k): as_text(v) for k, v in (fields or {}).items()}
            text = conn.hget(keys.comment(label["comment_id"]), "comment")
            idx = features(as_text(text)) if text else np.empty(0, dtype=np.int64)
            if len(idx):
                bias = sgd_step(
                    weights, bias, idx, float(label["label"] == "spam"), LEARNING_RATE, L2
                )
            for i in rng.choice(len(replay), size=REPLAY_PER_LABEL, replace=False):
                example = features(replay[i].text)
                if len(example):
                    bias = sgd_step(
                        weights, bias, example, float(replay[i].spam), LEARNING_RATE, L2
                    )
        blob = struct.pack("<d", bias) + weights.astype("<f4").tobytes()
        with conn.pipeline(transaction=True) as pipe:
            pipe.set(keys.model_weights(), blob)
            pipe.incr(keys.model_version())
            pipe.set(keys.labels_cursor(), as_text(entries[-1][0]))
            pipe.execute()
        return len(entries)
    finally:
        conn.delete(keys.learn_lock())


def replay_examples() -> list[Example]:
    """What each learned step is balanced with: the project's own training data."""
    train, _ = datasets.sms()
    return [e for video in datasets.youtube().values() for e in video] + train


class ModelSource:
    """What a worker scores with: the learned model, re-checked every `check_s` seconds."""

    def __init__(self, baseline: TextModel, check_s: float = 30.0) -> None:
        self.baseline, self.check_s = baseline, check_s
        self._model, self._version, self._checked = baseline, 0, float("-inf")

    def get(self, conn: redis.Redis) -> TextModel:
        now = time.monotonic()
        if now - self._checked >= self.check_s:
            self._checked = now
            if int(conn.get(keys.model_version()) or 0) != self._version:
                self._version, self._model = load(conn, self.baseline)
        return self._model
