"""The labelled training data shipped in workers/spam_data (see its README for attribution)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from workers.textmodel import clean

DATA_DIR = Path(__file__).with_name("spam_data")
# Every fifth SMS message is held out for evaluation; the rest may be trained on.
SMS_HOLDOUT_EVERY = 5
# Long ham: a file whose number is a multiple of 5 is held out (long-ham/README.md).
LONG_HAM_HOLDOUT_EVERY = 5
# What one example counts for in training (shared among a long text's windows). Casual SMS
# ham blurs what comment spam looks like, so SMS counts little (leave-one-video-out AUC 0.9861
# at 0.1, 0.9867 at 0.03); a long comment counts 0.3 of a short one: enough for long prose to
# look like ham (out-of-fold, 2.9 % of the long-ham training part above the hold line), not so
# much that spam written as prose does too (at 1.0 the YouTube ham held rises 11.9 -> 13.5 %).
WEIGHTS = {"youtube": 1.0, "sms": 0.05, "long-ham": 0.3}


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    spam: int  # 1 spam, 0 ham
    source: str  # youtube | sms | long-ham
    author: str = ""


def youtube() -> dict[str, list[Example]]:
    """The four YouTube videos' comments, by file name."""
    videos = {}
    for path in sorted((DATA_DIR / "youtube-spam").glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as f:
            videos[path.stem] = [
                Example(clean(row["CONTENT"]), int(row["CLASS"]), "youtube", row["AUTHOR"])
                for row in csv.DictReader(f)
            ]
    return videos


def sms() -> tuple[list[Example], list[Example]]:
    """The SMS collection as (train, held-out test)."""
    train: list[Example] = []
    test: list[Example] = []
    path = DATA_DIR / "sms-spam" / "SMSSpamCollection.tsv"
    with path.open(encoding="utf-8") as f:
        next(f)  # header
        for i, line in enumerate(f):
            label, _, text = line.rstrip("\n").partition("\t")
            (test if i % SMS_HOLDOUT_EVERY == 0 else train).append(
                Example(text, int(label == "spam"), "sms")
            )
    return train, test


def long_ham() -> tuple[list[Example], list[Example]]:
    """The project's own long legitimate comments as (train, hold-out), split by file number."""
    train: list[Example] = []
    holdout: list[Example] = []
    for path in sorted((DATA_DIR / "long-ham").glob("[a-z]-[0-9]*.txt")):
        number = int(path.stem.partition("-")[2])
        example = Example(path.read_text(encoding="utf-8"), 0, "long-ham")
        (holdout if number % LONG_HAM_HOLDOUT_EVERY == 0 else train).append(example)
    return train, holdout
