"""The text layer of the spam scorer: hashed n-grams and a logistic-regression model.

Features are binary (present or not) and L2-normalised, so a long comment is not more spam-like
for being long: both training sets are short texts, and news comments are often long prose.
Hashing uses CRC32, stable across processes (Python's hash() is randomised per process).
"""

from __future__ import annotations

import html
import itertools
import math
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

N_BITS = 18
MASK = (1 << N_BITS) - 1
MODEL_PATH = Path(__file__).with_name("spam_model.npz")

_URL = re.compile(
    r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|net|org|info|ly|gl|co|me|io|ru|biz)\b\S*"
)
_TAG = re.compile(r"<[^>]+>")
_WORD = re.compile(r"[^\W\d_]+|\d+|[!?$€£%]")

Indices = npt.NDArray[np.int64]


def clean(text: str) -> str:
    """Plain text from what the datasets hold (YouTube content carries entities and tags)."""
    return _TAG.sub(" ", html.unescape(text))


def tokens(text: str) -> list[str]:
    lowered = _URL.sub(" URL ", text).lower()
    return ["0" if tok.isdigit() else tok for tok in _WORD.findall(lowered)]


def features(text: str) -> Indices:
    """Hashed indices of word unigrams, bigrams and in-word character 3- and 4-grams."""
    words = tokens(text)
    grams: set[str] = {f"w {w}" for w in words}
    grams.update(f"b {a} {b}" for a, b in itertools.pairwise(words))
    for w in set(words):
        padded = f"<{w}>"
        for n in (3, 4):
            grams.update(f"c {padded[i : i + n]}" for i in range(len(padded) - n + 1))
    # Sorted and unique: set order varies between processes (string hashing is randomised),
    # and summation order must not, or training would not be reproducible to the bit.
    return np.unique(np.fromiter((zlib.crc32(g.encode()) & MASK for g in grams), dtype=np.int64))


@dataclass
class TextModel:
    weights: npt.NDArray[np.float32]
    bias: float

    def logit(self, idx: Indices) -> float:
        if len(idx) == 0:
            return self.bias
        return self.bias + float(self.weights[idx].sum()) / math.sqrt(len(idx))

    def probability(self, text: str) -> float:
        return 1.0 / (1.0 + math.exp(-self.logit(features(text))))

    def save(self, path: Path = MODEL_PATH) -> None:
        np.savez_compressed(path, weights=self.weights, bias=np.array([self.bias]))

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> TextModel:
        with np.load(path) as data:
            return cls(data["weights"].astype(np.float32), float(data["bias"][0]))


def train(
    texts: Sequence[str],
    labels: Sequence[int],
    sample_weights: Sequence[float] | None = None,
    *,
    epochs: int = 8,
    l2: float = 1e-6,
    rate: float = 0.5,
    seed: int = 7,
) -> TextModel:
    """Logistic regression by SGD, classes weighted to count equally. Deterministic."""
    rows = [features(t) for t in texts]
    y = np.asarray(labels, dtype=np.float64)
    sample_w = np.ones(len(y)) if sample_weights is None else np.asarray(sample_weights, float)
    positives = max(1.0, float(y.sum()))
    class_weight = {1: len(y) / (2 * positives), 0: len(y) / (2 * max(1.0, len(y) - positives))}
    weights = np.zeros(1 << N_BITS, dtype=np.float64)
    bias = 0.0
    rng = np.random.default_rng(seed)
    step = 0
    for _ in range(epochs):
        for i in rng.permutation(len(rows)):
            if len(rows[i]) == 0:
                continue
            lr = rate / (1.0 + 1e-4 * step)
            weight = class_weight[int(y[i])] * sample_w[i]
            bias = sgd_step(weights, bias, rows[i], y[i], lr * weight, l2 / weight)
            step += 1
    return TextModel(weights.astype(np.float32), bias)


def sgd_step(
    weights: npt.NDArray[np.float64], bias: float, idx: Indices, label: float, lr: float, l2: float
) -> float:
    """One logistic-regression step on one example, in place; returns the new bias."""
    scale = 1.0 / math.sqrt(len(idx))
    z = bias + weights[idx].sum() * scale
    p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
    grad = p - label
    weights[idx] -= lr * (grad * scale + l2 * weights[idx])
    return bias - lr * grad * 0.1


def roc_auc(scores: Iterable[float], labels: Iterable[int]) -> float:
    """Area under the ROC curve by the rank-sum formula (ties counted half)."""
    pairs = sorted(zip(scores, labels, strict=True))
    pos = sum(label for _, label in pairs)
    neg = len(pairs) - pos
    if not pos or not neg:
        return float("nan")
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        mean_rank = (i + j + 1) / 2  # ranks are 1-based
        rank_sum += mean_rank * sum(label for _, label in pairs[i:j])
        i = j
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)
