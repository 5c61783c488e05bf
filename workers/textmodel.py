"""The text layer of the spam scorer: hashed n-grams, logistic regression, scored by window.

A comment's words are cut into windows of up to `WINDOW` words (of a long comment, at most
`MAX_WINDOWS` spread across it); each window is scored like a short comment (the training sets
are short texts), and the comment's score is the mean of its windows' log-odds. So a long
comment is as spam-like as its typical passage, and does not drift towards spam for being
long: with whole-text features, long prose collected generic n-grams whose small weights
summed to +5.75 points (issue 12). The mean then goes through a Platt calibration fitted on
out-of-fold scores (see `fit`), so "80 % spam-like" means what it says.

Features per window are binary and L2-normalised: word unigrams and bigrams, character 3- and
4-grams inside words, the 4- and 5-grams across each word boundary, and the window's shape
(its length, its words in capitals). Words are lowercased; a link becomes words of its own
(its site, the shape of its path) and a number its shape.
Hashing uses CRC32, stable across processes (Python's hash() is randomised per process).
"""

from __future__ import annotations

import html
import itertools
import math
import re
import struct
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

N_BITS = 18
MASK = (1 << N_BITS) - 1
MODEL_PATH = Path(__file__).with_name("spam_model.npz")
# Changes whenever features or windows change meaning: a model (or a weight vector learned
# online) of another format scores nonsense, so it is refused instead.
FORMAT = 6
WINDOW = 64  # words per window: nearly every short comment is one window
MIN_LAST = 32  # a shorter tail joins the window before it
# A longer comment is judged on this many windows spread across it (256 words), not all,
# so scoring stays within its 2 ms whatever the length (all 23 windows of 1,500 words took
# 4 ms, issue 12). A sample of passages is unbiased but not exact: on the long-ham corpus it
# moved the calibrated log-odds by -0.03 on average, 0.26 in size (0.88 at p95).
MAX_WINDOWS = 4

_TLDS = "com net org info ly gl co me io ru biz".split()
_COMMON = "com|net|org"
# An address: with its scheme or "www.", a domain of `_TLDS`, one spaced out to slip past
# link filters ("site . com", "site. com"), or any other domain followed by a path
# ("site.pl/page"). Links written the last two ways read as prose, and were 3 of the 23
# spam comments the leave-one-video-out evaluation let through.
_URL = re.compile(
    rf"(?:https?://|www\.)\S+"
    rf"|\b[\w-]+(?:\.(?:{'|'.join(_TLDS)})\b| ?\. ?(?:{_COMMON})\b|\.[a-z]{{2,6}}/)\S*"
)
# What any address `_URL` finds contains ("://", "www." or one of these): most prose has
# none, and skips the slower search (a pattern that starts with a literal is a fast scan).
_TLD = re.compile(rf"\.(?:{'|'.join(_TLDS)}|[a-z]{{2,6}}/| (?:{_COMMON}))")
_TAG = re.compile(r"<[^>]+>")
# A number is one token with its separators ("1,884,034,783", "1:39", "4.99"), seen by its shape.
_WORD = re.compile(r"[^\W\d_]+|\d+(?:[.,:]\d+)*|[!?$€£%]")
_PATH = re.compile(r"[/?#]")

Indices = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def clean(text: str) -> str:
    """Plain text from what the datasets hold (YouTube content carries entities and tags)."""
    return _TAG.sub(" ", html.unescape(text))


def tokens(text: str) -> list[str]:
    if not ("://" in text or "www." in text or _TLD.search(text)):
        return _plain(text)
    found: list[str] = []
    start = 0
    for link in _URL.finditer(text):
        found += _plain(text[start : link.start()])
        found += _link(link.group())
        start = link.end()
    return found + _plain(text[start:])


def _plain(text: str) -> list[str]:
    return [_number(tok) if tok[0].isdigit() else tok for tok in _WORD.findall(text.lower())]


def _number(tok: str) -> str:
    """A number's shape: what it says is how it is written, not its value. A short one
    (a count, a year) is "0", a long run of digits (a phone number, a code) "00", digits with
    separators (a big count, a price, a time) "0.0". One "0" for all of them made a view
    count look like a phone number (leave-one-video-out AUC 0.9854 -> 0.9863)."""
    if not tok.isdigit():
        return "0.0"
    return "0" if len(tok) <= 4 else "00"


def _link(link: str) -> list[str]:
    """A link as words: that it is one, the site it points to and the shape of its path.
    Where a link goes tells spam from ham (a reader shares the video or the source; spam
    points to a shop, a shortener, a profile), and one "URL" word for every link could not
    say (with the number shapes, leave-one-video-out AUC 0.9863 -> 0.9884)."""
    address = link.lower().replace(" ", "").removeprefix("http://").removeprefix("https://")
    address = address.removeprefix("www.")
    cut = _PATH.search(address)
    host, rest = (address[: cut.start()], address[cut.start() :]) if cut else (address, "")
    labels = host.strip(".,;:!?)]'\"").split(".")
    # The site: the last two labels, three under a country's "co.uk" or "com.au" (no list of
    # public suffixes offline; this is the common shape).
    keep = 3 if len(labels) > 2 and len(labels[-1]) == 2 and len(labels[-2]) <= 3 else 2
    path = re.split(r"[?#]", rest, maxsplit=1)[0]
    depth = min(2, len([part for part in path.split("/") if part]))
    return [
        "url",
        "url@" + ".".join(labels[-keep:]),
        f"url/{depth}",
        *(["url?"] if "?" in rest else []),
    ]


def spans(count: int) -> list[tuple[int, int]]:
    """The windows a comment of `count` words is judged on, as (start, end): `WINDOW` words
    each, a tail shorter than `MIN_LAST` joining the window before it; of a longer comment,
    `MAX_WINDOWS` of them spread evenly from its start to its end."""
    if count <= WINDOW + MIN_LAST:
        return [(0, count)]
    starts = list(range(0, count, WINDOW))
    if count - starts[-1] < MIN_LAST:
        starts.pop()
    every = list(itertools.pairwise([*starts, count]))
    if len(every) <= MAX_WINDOWS:
        return every
    last, gaps = len(every) - 1, MAX_WINDOWS - 1
    return [every[(i * last + gaps // 2) // gaps] for i in range(MAX_WINDOWS)]


# A window's shape, which lowercasing and the words themselves do not say: each word written
# in capitals ("CHECK", "SUBSCRIBE") and the window's length in words, by bucket. Spam shouts
# its call to action and runs to a few sentences; ham is often a few words or a long reply
# (leave-one-video-out: AUC 0.9887 -> 0.9893, YouTube ham held 8.21 -> 7.95 %; issue 12).
_LETTERS = re.compile(r"[^\W\d_]{2,}")
_LENGTHS = (3, 10, 30)  # window lengths in words: 1-3, 4-10, 11-30, more


def _shape_grams(passage: str, count: int) -> bytes:
    grams = [f"s len {sum(count > n for n in _LENGTHS)}"]
    grams += [f"s cap {word.lower()}" for word in _LETTERS.findall(passage) if word.isupper()]
    return np.array([_hash(g) for g in grams], dtype=np.int64).tobytes()


def _hash(gram: str) -> int:
    return zlib.crc32(gram.encode()) & MASK


# Per word: its own grams, and 32-bit codes of the word, of its last 1-3 letters and of its
# first 1-3 letters, which word-pair grams are combined from (vectorised, in `window_keys`).
# Both as bytes: a text's words join into one buffer that numpy reads without a copy per word
# (building an array from a list of tuples cost more than all the rest of a long comment).
# Words repeat across comments ("the", "and"): cached, a word costs one dict lookup. The cache
# starts again when it holds `CACHED_WORDS` (~0.4 KB each: a few megabytes per process).
CACHED_WORDS = 1 << 14
_words: dict[str, tuple[bytes, bytes]] = {}


def _word(word: str) -> tuple[bytes, bytes]:
    known = _words.get(word)
    if known is None:
        if len(_words) >= CACHED_WORDS:
            _words.clear()
        known = _words[word] = _word_grams(word)
    return known


def _word_grams(word: str) -> tuple[bytes, bytes]:
    padded = f"<{word}>"
    grams = [f"w {word}"]
    for n in (3, 4):
        grams.extend(f"c {padded[i : i + n]}" for i in range(len(padded) - n + 1))
    edges = [word, *(f"{word[-n:]}|" for n in (1, 2, 3)), *(f"|{word[:n]}" for n in (1, 2, 3))]
    own = np.array([_hash(g) for g in grams], dtype=np.int64)
    codes = np.array([zlib.crc32(e.encode()) for e in edges], dtype=np.uint64)
    return own.tobytes(), codes.tobytes()


_CODE, _TAIL1, _TAIL2, _TAIL3, _HEAD1, _HEAD2, _HEAD3 = range(7)
# Word pairs, and the 4- and 5-grams across the space between two words (letters each side).
_PAIRS = [(_CODE, _CODE), (_TAIL2, _HEAD1), (_TAIL1, _HEAD2), (_TAIL3, _HEAD1),
          (_TAIL2, _HEAD2), (_TAIL1, _HEAD3)]  # fmt: skip
_M1, _M2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F)
_LEFT, _RIGHT = (np.array(side) for side in zip(*_PAIRS, strict=True))
_KINDS = np.arange(len(_PAIRS), dtype=np.uint64)


def _pair_grams(codes: npt.NDArray[np.uint64]) -> Indices:
    """Hashed grams of each adjacent word pair (a row per pair, a column per kind)."""
    mixed = (codes[:-1, _LEFT] * _M1 + codes[1:, _RIGHT] + _KINDS) * _M2
    return (mixed >> np.uint64(64 - N_BITS)).astype(np.int64)


def window_keys(text: str) -> Indices:
    """Each window's n-grams as sorted, unique keys `window << N_BITS | gram` (windows
    numbered from 0, those without a word skipped). Windows are cut from the text's
    whitespace-separated words before tokenising, so a long comment tokenises only the
    passages it is judged on; every window's grams are then hashed and deduplicated at once,
    with no Python loop per gram."""
    chunks = text.split()
    known = _words.get
    owns, codes, gram_counts, word_counts = [], [], [], []
    for start, end in spans(len(chunks)):
        passage = " ".join(chunks[start:end])
        found = [known(w) or _word(w) for w in tokens(passage)]
        if found:
            own, code = zip(*found, strict=True)
            owns.append(b"".join(own) + _shape_grams(passage, len(found)))
            codes.append(b"".join(code))
            gram_counts.append(len(owns[-1]) // 8)
            word_counts.append(len(found))
    if not owns:
        return np.zeros(0, dtype=np.int64)
    numbers = np.arange(len(owns), dtype=np.int64) << N_BITS
    word_window = np.repeat(numbers, word_counts)
    same = word_window[:-1] == word_window[1:]  # no pair across two windows
    pairs = _pair_grams(np.frombuffer(b"".join(codes), dtype=np.uint64).reshape(-1, 7))
    keys = np.concatenate(
        (
            np.repeat(numbers, gram_counts) | np.frombuffer(b"".join(owns), dtype=np.int64),
            (word_window[:-1, None] | pairs)[same].ravel(),
        )
    )
    keys.sort()  # np.unique would hash them first: twice the time
    return keys[np.concatenate(([True], keys[1:] != keys[:-1]))]


def windows(text: str) -> list[Indices]:
    """The sorted, unique hashed indices of each window's n-grams (none without words)."""
    keys = window_keys(text)
    if not len(keys):
        return []
    window = keys >> N_BITS
    cuts = np.flatnonzero(window[1:] != window[:-1]) + 1
    # Sorted and unique: summation order must not vary, or training would not be
    # reproducible to the bit.
    return np.split(keys & MASK, cuts)


@dataclass(frozen=True)
class TextModel:
    weights: npt.NDArray[np.float32]
    bias: float
    # Platt scaling of the mean window log-odds z: P(spam) = sigmoid(slope * z + offset).
    slope: float = 1.0
    offset: float = 0.0

    def window_logit(self, idx: Indices) -> float:
        if len(idx) == 0:
            return self.bias
        return self.bias + float(self.weights[idx].sum(dtype=np.float64)) / math.sqrt(len(idx))

    def mean_logit(self, parts: Sequence[Indices]) -> float:
        """The uncalibrated score: the mean of the windows' log-odds."""
        if len(parts) <= 1:
            return self.window_logit(parts[0]) if parts else self.bias
        lengths = np.array([len(idx) for idx in parts])
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        sums = np.add.reduceat(self.weights[np.concatenate(parts)], starts, dtype=np.float64)
        return self.bias + float(np.mean(sums / np.sqrt(lengths)))

    def raw(self, text: str) -> float:
        """`mean_logit(windows(text))`, summed over every window at once."""
        keys = window_keys(text)
        if not len(keys):
            return self.bias
        starts = np.searchsorted(keys, np.arange(int(keys[-1] >> N_BITS) + 1) << N_BITS)
        sums = np.add.reduceat(self.weights[keys & MASK], starts, dtype=np.float64)
        lengths = np.diff(np.append(starts, len(keys)))
        return self.bias + float(np.mean(sums / np.sqrt(lengths)))

    def logit(self, text: str) -> float:
        """Calibrated log-odds that the text is spam."""
        return self.slope * self.raw(text) + self.offset

    def probability(self, text: str) -> float:
        return _sigmoid(self.logit(text))

    def with_weights(self, weights: npt.NDArray[np.float32], bias: float) -> TextModel:
        """The same calibration over other weights (online learning moves the weights)."""
        return TextModel(weights, bias, self.slope, self.offset)

    def fingerprint(self) -> int:
        """Identifies this model's weights: what a model learned from it was learned from."""
        return zlib.crc32(self.weights.tobytes(), zlib.crc32(struct.pack("<d", self.bias)))

    def save(self, path: Path = MODEL_PATH) -> None:
        meta = np.array([FORMAT, self.bias, self.slope, self.offset])
        np.savez_compressed(path, weights=self.weights, meta=meta)

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> TextModel:
        with np.load(path) as data:
            if "meta" not in data or int(data["meta"][0]) != FORMAT:
                raise ValueError(f"{path}: not a format {FORMAT} model (`comments spam train`)")
            _, bias, slope, offset = (float(x) for x in data["meta"])
            return cls(data["weights"].astype(np.float32), bias, slope, offset)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


# --- training ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One labelled text, already cut into windows, and what it counts for in training."""

    windows: list[Indices]
    label: int  # 1 spam, 0 ham
    weight: float = 1.0
    group: int = 0  # examples of one group are held out together for calibration


class Rows:
    """Training windows as a sparse matrix: one row per window, each of a window's features
    worth 1/sqrt(its feature count), over the columns of the features that occur (weights of
    the others stay 0). Products are segment sums over arrays laid out in row order and in
    column order (np.add.reduceat): three times faster than scattering."""

    def __init__(self, rows: Sequence[Indices]) -> None:
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        if not len(rows) or not lengths.all():
            raise ValueError("every row needs a feature")
        self.count = len(rows)
        self.features, self.columns = np.unique(np.concatenate(rows), return_inverse=True)
        self.width = len(self.features)
        self.row_starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        self.scale = 1.0 / np.sqrt(lengths)
        by_column = np.argsort(self.columns, kind="stable")
        self.rows_by_column = np.repeat(np.arange(self.count), lengths)[by_column]
        per_column = np.bincount(self.columns, minlength=self.width)
        self.column_starts = np.concatenate(([0], np.cumsum(per_column)[:-1]))

    def dot(self, w: Floats) -> Floats:
        return np.add.reduceat(w[self.columns], self.row_starts) * self.scale

    def dot_transposed(self, g: Floats) -> Floats:
        return np.add.reduceat((g * self.scale)[self.rows_by_column], self.column_starts)


def train(examples: Sequence[Example], *, l2: float = 0.03, iterations: int = 60) -> TextModel:
    """Weighted logistic regression over windows, classes weighted to count equally; each
    example's weight is shared among its windows. Full-batch L-BFGS: the same examples give
    the same model to the bit, whatever their order of arrival in a process."""
    rows = [idx for e in examples for idx in e.windows]
    y = np.array([float(e.label) for e in examples for _ in e.windows])
    w = np.array([e.weight / len(e.windows) for e in examples for _ in e.windows])
    spam_total, ham_total = _dot(w, y), _dot(w, 1 - y)
    if not spam_total or not ham_total:
        raise ValueError("training needs spam and ham examples")
    w = w * np.where(y == 1, w.sum() / (2 * spam_total), w.sum() / (2 * ham_total))
    matrix = Rows(rows)

    def loss_and_gradient(params: Floats) -> tuple[float, Floats]:
        weights, bias = params[:-1], params[-1]
        z = matrix.dot(weights) + bias
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        loss = _dot(w, np.logaddexp(0, z) - y * z) + 0.5 * l2 * _dot(weights, weights)
        g = w * (p - y)
        return loss, np.append(matrix.dot_transposed(g) + l2 * weights, g.sum())

    params = lbfgs(loss_and_gradient, np.zeros(matrix.width + 1), iterations)
    weights = np.zeros(1 << N_BITS, dtype=np.float32)
    weights[matrix.features] = params[:-1]
    return TextModel(weights, float(params[-1]))


def _dot(a: Floats, b: Floats) -> float:
    """A dot product by numpy's own pairwise summation, not BLAS: BLAS may split it among
    threads, and the trained model must not depend on how many cores built it."""
    return float(np.sum(a * b))


def lbfgs(
    f: Callable[[Floats], tuple[float, Floats]], x: Floats, iterations: int, memory: int = 10
) -> Floats:
    """Minimise a smooth convex f (limited-memory BFGS, backtracking line search)."""
    fx, g = f(x)
    steps: list[tuple[Floats, Floats]] = []
    for _ in range(iterations):
        d = -g
        alphas = []
        for s, yv in reversed(steps):
            alpha = _dot(s, d) / _dot(yv, s)
            alphas.append(alpha)
            d = d - alpha * yv
        if steps:
            s, yv = steps[-1]
            d = d * (_dot(s, yv) / _dot(yv, yv))
        else:
            d = d / max(1.0, float(np.abs(g).max()))
        for (s, yv), alpha in zip(steps, reversed(alphas), strict=True):
            d = d + s * (alpha - _dot(yv, d) / _dot(yv, s))
        slope = _dot(g, d)
        if slope >= 0:  # not a descent direction: start again from the gradient
            steps, d = [], -g / max(1.0, float(np.abs(g).max()))
            slope = _dot(g, d)
        t = 1.0
        while True:
            x_new = x + t * d
            f_new, g_new = f(x_new)
            if f_new <= fx + 1e-4 * t * slope or t < 1e-10:
                break
            t /= 2
        s, yv = x_new - x, g_new - g
        if _dot(s, yv) > 1e-12:
            steps = [*steps[-(memory - 1) :], (s, yv)]
        converged = fx - f_new <= 1e-9 * max(1.0, abs(fx))
        x, fx, g = x_new, f_new, g_new
        if converged:
            break
    return x


def fit(examples: Sequence[Example], *, l2: float = 0.03) -> TextModel:
    """Train, then calibrate on out-of-fold scores: a model per group trained without that
    group scores it, and a Platt scaling fitted on those scores is stored with the model
    trained on everything. Out-of-fold, because a model's scores of its own training data
    are overconfident."""
    groups = sorted({e.group for e in examples})
    scores, labels, weights = [], [], []
    for group in groups:
        model = train([e for e in examples if e.group != group], l2=l2)
        for e in examples:
            if e.group == group:
                scores.append(model.mean_logit(e.windows))
                labels.append(e.label)
                weights.append(e.weight)
    slope, offset = platt(np.array(scores), np.array(labels, dtype=np.float64), np.array(weights))
    final = train(examples, l2=l2)
    return TextModel(final.weights, final.bias, slope, offset)


def platt(scores: Floats, labels: Floats, weights: Floats) -> tuple[float, float]:
    """Slope and offset of the logistic fit of labels on scores, classes weighted equally,
    with Platt's smoothed targets (so separable scores do not make the slope infinite)."""
    spam = _dot(weights, labels)
    ham = _dot(weights, 1 - labels)
    w = weights * np.where(labels == 1, 0.5 / spam, 0.5 / ham)
    n_spam, n_ham = float(labels.sum()), float(len(labels) - labels.sum())
    target = np.where(labels == 1, (n_spam + 1) / (n_spam + 2), 1 / (n_ham + 2))

    def f(params: Floats) -> tuple[float, Floats]:
        z = params[0] * scores + params[1]
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        loss = _dot(w, np.logaddexp(0, z) - target * z)
        g = w * (p - target)
        return loss, np.array([_dot(g, scores), float(g.sum())])

    slope, offset = lbfgs(f, np.array([1.0, 0.0]), 100)
    return float(slope), float(offset)


# --- online learning ------------------------------------------------------------------------


def sgd_step(
    weights: npt.NDArray[np.float64], bias: float, idx: Indices, label: float, lr: float, l2: float
) -> float:
    """One logistic-regression step on one window, in place; returns the new bias."""
    scale = 1.0 / math.sqrt(len(idx))
    z = bias + weights[idx].sum() * scale
    p = _sigmoid(z)
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
