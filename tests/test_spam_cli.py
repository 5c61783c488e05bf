"""The operator commands that build, judge and run the scorer."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.helpers import run_cli
from workers.textmodel import MODEL_PATH, TextModel


def test_score_reads_and_writes_json_lines() -> None:
    lines = [
        {"id": "ham", "name": "Maria", "comment": "Thanks, a careful article on the lunar plans."},
        {"id": "spammy", "name": "Best Cheap Casino Bonus", "comment": "WIN $$$ https://bit.ly/x"},
        {"id": "trap", "name": "x", "comment": "hi", "honeypot": True, "form_token": "valid",
         "token_age_s": 30, "pow": "valid"},
        {"id": "injected", "name": "Bo", "comment": "Nice [url=http://x.example]post[/url]"},
        {"id": "no-js", "name": "Maria", "comment": "Thanks.", "form_token": "valid"},
        {"id": "hook", "name": "Maria", "comment": "Thanks.", "form_token": "valid",
         "pow": "valid", "hook": "hold", "hook_reasons": ["off-topic"]},
        ["not", "an", "object"],
    ]  # fmt: skip
    out = run_cli(None, "spam", "score", stdin="\n".join(json.dumps(x) for x in lines) + "\n\n")
    results = [json.loads(line) for line in out.splitlines()]
    assert [r.get("id") for r in results] == [
        "ham", "spammy", "trap", "injected", "no-js", "hook", None
    ]  # fmt: skip
    ham, spammy, trap, injected, no_js, hook, bad = results
    assert ham["verdict"] != "spam"
    # Soft signals, however spam-like, hold; conclusive ones make spam.
    assert spammy["verdict"] == "hold"
    assert {r["code"] for r in spammy["reasons"]} >= {"shortener", "name_keywords", "text_model"}
    assert {r["kind"] for r in spammy["reasons"]} == {"soft"}
    assert trap["verdict"] == injected["verdict"] == "spam"
    assert {"honeypot": "conclusive"}.items() <= {
        r["code"]: r["kind"] for r in trap["reasons"]
    }.items()
    assert no_js["verdict"] == "hold"
    assert "no_proof_of_work" in {r["code"] for r in no_js["reasons"]}
    assert hook["verdict"] == "hold"
    assert any("off-topic" in r["text"] for r in hook["reasons"])
    assert bad == {"line": 7, "error": "each line must be an object with a string 'comment'"}
    for r in results[:6]:
        assert isinstance(r["score"], float | int)
        assert all(reason["text"] for reason in r["reasons"])


def test_eval_reports_the_long_ham_hold_out_and_the_targets() -> None:
    out = _slow_cli("spam", "eval")
    rows = {
        line[:22].strip(): line[22:]
        for line in out.splitlines()
        if line.startswith(("Youtube", "SMS", "YouTube pooled", "long-ham hold-out"))
    }
    assert len(rows) == 7, out
    figures = {
        name: [float(x) for x in re.findall(r"-?\d+\.\d+", rest)] for name, rest in rows.items()
    }
    for name, values in figures.items():
        assert all(0 <= v <= 100 for v in values), (name, out)
    auc, caught, published, ham_spam, ham_held = figures["YouTube pooled"]
    # The targets of issue 12, every one met (ham held without room: 60 of 755, 8 % is 60.4).
    assert auc >= 0.985, out
    assert published <= 3.0, out
    assert ham_spam == 0.0, out
    assert ham_held <= 8.0, out
    *_, long_ham_spam, long_ham_held = figures["long-ham hold-out"]
    assert long_ham_spam == 0.0, out
    assert long_ham_held <= 25.0, out
    assert caught == 0.0  # text alone is soft: offline, nothing is conclusive
    targets = out[out.index("targets:") :]
    assert targets.count(": met") == 6, out
    assert "MISSED" not in targets, out


def test_bench_prints_its_figures_beside_the_target() -> None:
    out = _slow_cli("spam", "bench")
    assert re.search(r"short comments \(\d+\) +p50 +[\d.]+ ms +p95 +[\d.]+ ms", out), out
    assert re.search(r"long comments \(300, \d+ words on average\)", out), out
    assert out.count("(target <= 2.000 ms)") == 2, out


def test_train_reproduces_the_shipped_model(tmp_path: Path) -> None:
    output = tmp_path / "model.npz"
    _slow_cli("spam", "train", "--output", str(output))
    with np.load(output) as fresh, np.load(MODEL_PATH) as shipped:
        assert sorted(fresh.files) == sorted(shipped.files) == ["meta", "weights"]
        # Equal up to float32 rounding: numpy picks its SIMD kernels by CPU, so sums may
        # round differently in the last bit on another machine (seen: 264 weights, 1.5e-8).
        np.testing.assert_allclose(fresh["weights"], shipped["weights"], rtol=0, atol=1e-6)
        np.testing.assert_allclose(fresh["meta"], shipped["meta"], rtol=1e-6)
    model = TextModel.load(output)
    assert model.slope > 0  # calibrated: spam-like stays spam-like


def _slow_cli(*args: str) -> str:
    """`comments <args>` with room for training (eval trains 21 models)."""
    return subprocess.run(
        [sys.executable, "-m", "service.entry.cli", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    ).stdout
