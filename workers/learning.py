"""Online learning: the text model learns from moderators' spam/ham decisions.

Small steps, each followed by a replay of shipped training examples, so one moderator's
mistake nudges the model instead of flipping it; memory is bounded (a fixed weight vector
and a capped label stream). The learned model lives in Redis, so every worker uses it; the
shipped artifact stays the baseline (what `comments spam eval` measures), and its calibration
applies to the learned weights too.

The stored weights name the model format and the baseline they were learned from. After an
upgrade that ships another baseline (or other features), they are stale: workers score with
the new baseline, and the next learning run starts from it and replays the label stream.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import redis

from service.core import keys
from service.core.records import as_text
from workers import datasets
from workers.datasets import Example
from workers.textmodel import FORMAT, TextModel, sgd_step, windows

LEARNING_RATE = 0.3
REPLAY_PER_LABEL = 4
L2 = 1e-6
BATCH = 200
# Format, the baseline's fingerprint, the bias; then the weights (float32, little-endian).
HEADER = struct.Struct("<IId")


def encode(baseline: TextModel, weights: npt.NDArray[np.float64], bias: float) -> bytes:
    return HEADER.pack(FORMAT, baseline.fingerprint(), bias) + weights.astype("<f4").tobytes()


def decode(blob: bytes, baseline: TextModel) -> TextModel | None:
    """The learned model, or None when it was learned from another baseline or format."""
    if len(blob) != HEADER.size + 4 * len(baseline.weights):
        return None
    version, fingerprint, bias = HEADER.unpack_from(blob)
    if version != FORMAT or fingerprint != baseline.fingerprint():
        return None
    weights = np.frombuffer(blob, dtype="<f4", offset=HEADER.size).astype(np.float32)
    return baseline.with_weights(weights, bias)


def load(conn: redis.Redis, baseline: TextModel) -> tuple[int, TextModel]:
    """The current learned model and its version (0: nothing learned yet, the baseline).
    Stale weights give the baseline, under their version (nothing to reload until learning
    writes new ones)."""
    version = int(conn.get(keys.model_version()) or 0)
    blob = conn.get(keys.model_weights()) if version else None
    learned = decode(blob, baseline) if isinstance(blob, bytes) else None
    return version, learned or baseline


def learn(conn: redis.Redis, baseline: TextModel, replay: Sequence[Example], seed: int = 0) -> int:
    """Apply labels not yet learned; returns how many. One learner at a time (lock)."""
    if not conn.set(keys.learn_lock(), "1", nx=True, ex=120):
        return 0
    try:
        blob = conn.get(keys.model_weights())
        learned = decode(blob, baseline) if isinstance(blob, bytes) else None
        # Nothing learned yet, or learned for another baseline: every label, from the start.
        cursor = "0-0"
        if learned is not None:
            cursor = as_text(conn.get(keys.labels_cursor()) or b"0-0")
        entries = conn.xrange(keys.labels(), min=f"({cursor}", count=BATCH) or []
        if not entries:
            return 0
        model = learned or baseline
        weights, bias = model.weights.astype(np.float64), model.bias
        rng = np.random.default_rng(seed)
        # Replayed as often as each source counts in training (SMS little, YouTube most).
        odds = np.array([datasets.WEIGHTS[e.source] for e in replay])
        odds /= odds.sum()

        def step(text: str, label: float) -> None:
            nonlocal bias
            parts = windows(text)
            for idx in parts:  # a long text takes one step in all, shared among its windows
                bias = sgd_step(weights, bias, idx, label, LEARNING_RATE / len(parts), L2)

        for _, fields in entries:
            label = {as_text(k): as_text(v) for k, v in (fields or {}).items()}
            text = conn.hget(keys.comment(label["comment_id"]), "comment")
            if text:
                step(as_text(text), float(label["label"] == "spam"))
            for i in rng.choice(len(replay), size=REPLAY_PER_LABEL, replace=False, p=odds):
                step(replay[i].text, float(replay[i].spam))
        with conn.pipeline(transaction=True) as pipe:
            pipe.set(keys.model_weights(), encode(baseline, weights, bias))
            pipe.incr(keys.model_version())
            pipe.set(keys.labels_cursor(), as_text(entries[-1][0]))
            pipe.execute()
        return len(entries)
    finally:
        conn.delete(keys.learn_lock())


def replay_examples() -> list[Example]:
    """What each learned step is balanced with: the project's own training data (long prose
    included, so learning from short spam does not teach that long text is spam again)."""
    train, _ = datasets.sms()
    long_train, _ = datasets.long_ham()
    return [e for video in datasets.youtube().values() for e in video] + train + long_train


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
