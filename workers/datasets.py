"""The labelled training data shipped in workers/spam_data (see its README for attribution)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from workers.textmodel import clean

DATA_DIR = Path(__file__).with_name("spam_data")
# Every fifth SMS message is held out for evaluation; the rest may be trained on.
SMS_HOLDOUT_EVERY = 5


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    spam: int  # 1 spam, 0 ham
    source: str  # youtube | sms
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
