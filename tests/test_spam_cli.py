"""The operator commands that build, judge and run the scorer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from tests.helpers import run_cli
from workers.textmodel import MODEL_PATH


def test_score_reads_and_writes_json_lines() -> None:
    lines = [
        {"id": "ham", "name": "Maria", "comment": "Thanks, a careful article on the lunar plans."},
        {"id": "spam", "name": "Best Cheap Casino Bonus", "comment": "WIN $$$ https://bit.ly/x"},
        {"id": "trap", "name": "x", "comment": "hi", "honeypot": True, "form_token": "valid",
         "token_age_s": 30},
        ["not", "an", "object"],
    ]  # fmt: skip
    out = run_cli(None, "spam", "score", stdin="\n".join(json.dumps(x) for x in lines) + "\n\n")
    results = [json.loads(line) for line in out.splitlines()]
    assert [r.get("id") for r in results] == ["ham", "spam", "trap", None]
    ham, spam, trap, bad = results
    assert ham["verdict"] != "spam"
    assert spam["verdict"] == "spam"
    assert {r["code"] for r in spam["reasons"]} >= {"shortener", "name_keywords"}
    assert trap["verdict"] == "spam"
    assert bad == {"line": 4, "error": "each line must be an object with a string 'comment'"}
    for r in results[:3]:
        assert isinstance(r["score"], float | int)
        assert all(reason["text"] for reason in r["reasons"])


def test_eval_meets_the_targets() -> None:
    out = run_cli(None, "spam", "eval")
    rows = {
        line[:22].strip(): [float(x) for x in re.findall(r"-?\d+\.\d+", line[22:])]
        for line in out.splitlines()
        if line.startswith(("Youtube", "SMS", "YouTube pooled"))
    }
    assert len(rows) == 6, out
    for name, (_auc, caught, published, ham_spam, ham_held) in rows.items():
        assert published <= 5.0, (name, out)
        assert ham_spam <= 0.5, (name, out)
        assert 0 <= caught <= 100
        assert 0 <= ham_held <= 100
    assert rows["YouTube pooled"][0] >= 0.98, out  # mean leave-one-video-out AUC


def test_train_reproduces_the_shipped_model(tmp_path: Path) -> None:
    output = tmp_path / "model.npz"
    run_cli(None, "spam", "train", "--output", str(output))
    with np.load(output) as fresh, np.load(MODEL_PATH) as shipped:
        assert np.array_equal(fresh["weights"], shipped["weights"])
        assert np.array_equal(fresh["bias"], shipped["bias"])
