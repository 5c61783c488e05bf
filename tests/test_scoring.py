"""Each scoring layer with a case that fires and one that does not; long prose is never spam.

The verdict policy itself (conclusive and soft signals) is tested in test_spam_policy.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from service.core.form_token import EXPIRED, FORGED, MISSING, REPLAYED, VALID
from service.core.settings import Policy
from workers import datasets
from workers.scoring import (
    APPROVE,
    HOLD,
    SPAM,
    Candidate,
    Reputation,
    Result,
    Signals,
    decide,
    score,
)
from workers.textmodel import TextModel, roc_auc, tokens, windows

POLICY = Policy()
GOOD = Candidate(
    "Maria K.",
    "I think cooperation between the two agencies makes sense, given how expensive landers "
    "are. A shared station at the south pole would let both programmes share data.",
)
CALM = Signals(form_token=VALID, token_age_s=120.0, pow=VALID)


@pytest.fixture(scope="module")
def model() -> TextModel:
    return TextModel.load()


def codes(result: object) -> set[str]:
    return {r.code for r in result.reasons}  # type: ignore[attr-defined]


def test_ordinary_comment_is_never_spam_and_approved_for_a_trusted_commenter(
    model: TextModel,
) -> None:
    result = score(GOOD, model, POLICY, CALM)
    assert result.verdict != SPAM, result  # with no history the scorer may hold: when unsure, hold
    assert codes(result) <= {"text_model"}
    assert score(GOOD, model, POLICY, CALM, Reputation(approved=1, proven=True)).verdict == APPROVE


@pytest.mark.parametrize(
    ("signals", "code", "verdict_at_least"),
    [
        (Signals(form_token=VALID, token_age_s=60, honeypot=True), "honeypot", SPAM),
        (Signals(form_token=MISSING, honeypot=True), "honeypot_untrusted", HOLD),
        (Signals(form_token=VALID, token_age_s=0.8), "too_fast", HOLD),
        (Signals(form_token=FORGED), "token_forged", SPAM),
        (Signals(form_token=REPLAYED), "token_replayed", SPAM),
        (Signals(form_token=EXPIRED), "token_expired", None),
        (Signals(form_token=MISSING), "token_missing", None),
        (Signals(form_token=VALID, token_age_s=60, flood=True), "flood", HOLD),
        (Signals(form_token=VALID, token_age_s=60, duplicate="exact"), "duplicate", HOLD),
        (Signals(form_token=VALID, token_age_s=60, duplicate="near"), "near_duplicate", HOLD),
        (Signals(form_token=VALID, token_age_s=60, ip_last_hour=50), "ip_rate", HOLD),
        (Signals(form_token=VALID, token_age_s=60, site_last_minute=500), "site_rate", HOLD),
        (Signals(form_token=VALID, token_age_s=60, pow=None), "no_proof_of_work", HOLD),
        (Signals(form_token=VALID, token_age_s=60, pow="invalid"), "pow_invalid", SPAM),
    ],
)
def test_request_signals(
    model: TextModel, signals: Signals, code: str, verdict_at_least: str | None
) -> None:
    pow_given = signals.pow is not None or code == "no_proof_of_work"
    signals = signals if pow_given else replace(signals, pow=VALID)
    result = score(GOOD, model, POLICY, signals)
    assert code in codes(result)
    order = [APPROVE, HOLD, SPAM]
    if verdict_at_least:
        assert order.index(result.verdict) >= order.index(verdict_at_least)
    assert code not in codes(score(GOOD, model, POLICY, CALM))


@pytest.mark.parametrize(
    ("reputation", "website", "code", "verdict"),
    [
        (Reputation(spam_from_email=1), "", "spam_sender", SPAM),
        (Reputation(approved=2, spam_from_email=1), "", "spam_sender_approved", HOLD),
        (Reputation(spam_from_ip=2), "", "spam_ip", HOLD),
        (Reputation(spam_from_domain=1), "https://pills.example/", "spam_website", SPAM),
        (Reputation(spam_from_domain=1), "https://youtube.com/@maria", "spam_website_shared", HOLD),
    ],
)
def test_bad_reputation_holds_or_spams(
    model: TextModel, reputation: Reputation, website: str, code: str, verdict: str
) -> None:
    candidate = replace(GOOD, website=website)
    result = score(candidate, model, POLICY, CALM, reputation)
    assert code in codes(result)
    assert result.verdict == verdict


def test_trusted_commenter_is_approved_despite_links_but_not_despite_a_honeypot(
    model: TextModel,
) -> None:
    trusted, nobody = Reputation(approved=3, proven=True), Reputation()
    linky = Candidate(GOOD.name, GOOD.comment + " See https://a.example/x and https://b.example/y")
    assert decide(score(linky, model, POLICY, CALM, nobody), nobody, POLICY).verdict == HOLD
    approved = decide(score(linky, model, POLICY, CALM, trusted), trusted, POLICY)
    assert approved.verdict == APPROVE
    for strong in (
        Signals(form_token=VALID, token_age_s=60, honeypot=True),
        Signals(form_token=VALID, token_age_s=60, duplicate="exact"),
        Signals(form_token=REPLAYED),
    ):
        assert (
            decide(score(GOOD, model, POLICY, strong, trusted), trusted, POLICY).verdict != APPROVE
        )
    no_auto = Policy(auto_approve_trusted=False)
    assert decide(score(linky, model, no_auto, CALM, trusted), trusted, no_auto).verdict == HOLD


@pytest.mark.parametrize(
    ("candidate", "code"),
    [
        (Candidate("Bo", GOOD.comment + " https://x.example/a https://y.example/b"), "links"),
        (Candidate("Bo", "Great read! https://bit.ly/3abc"), "shortener"),
        (Candidate("Bo", "Nice [url=http://x.example]click[/url]"), "markup_link"),
        (Candidate("Bo", 'Nice <a href="http://x.example">post</a>'), "markup_link"),
        (Candidate("www.cheap-pills.example.com", GOOD.comment), "name_is_url"),
        (Candidate("Best Cheap Casino Bonus Online", GOOD.comment), "name_keywords"),
        (Candidate("Bo", "THIS IS THE BEST ARTICLE I HAVE EVER READ IN MY LIFE"), "shouting"),
    ],
)
def test_content_rules(model: TextModel, candidate: Candidate, code: str) -> None:
    assert code in codes(score(candidate, model, POLICY, CALM))
    assert code not in codes(score(GOOD, model, POLICY, CALM))


def test_operator_keywords(model: TextModel) -> None:
    policy = Policy(moderation_keywords=("landers",), disallowed_keywords=("programmes",))
    result = score(GOOD, model, policy, CALM)
    assert {"moderation_keyword", "disallowed_keyword"} <= codes(result)
    assert result.verdict == SPAM
    # Whole words only: "land" does not match "landers".
    assert "moderation_keyword" not in codes(
        score(GOOD, model, Policy(moderation_keywords=("land",)), CALM)
    )


def test_text_model_separates_spam_from_ham(model: TextModel) -> None:
    spam = "Check out my channel and subscribe!!! Free iPhone giveaway at my page, click now"
    assert model.probability(spam) > 0.9
    assert model.probability(GOOD.comment) < 0.5
    assert "text_model" in codes(score(Candidate("Bo", spam), model, POLICY, CALM))


def test_text_model_alone_never_calls_spam(model: TextModel) -> None:
    spammy = Candidate("Bo", "WIN FREE CASH NOW!!! txt WIN to 80082 claim your prize call now")
    result = score(spammy, model, POLICY)
    assert model.probability(spammy.comment) > 0.9
    assert result.verdict == HOLD, result
    assert {r.kind for r in result.reasons} == {"soft"}


def test_long_legitimate_comments_score_like_short_ones(model: TextModel) -> None:
    """Long prose is as ham-like as its passages: not pushed towards spam by its length."""
    text = (Path(__file__).parent / "fixtures" / "long_comments.txt").read_text()
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    whole = " ".join(paragraphs)
    for comment in [*paragraphs, whole]:
        result = score(Candidate("Maria K.", comment), model, POLICY, CALM)
        assert result.verdict == APPROVE, result
    each = [model.logit(p) for p in paragraphs]
    assert min(each) - 0.5 <= model.logit(whole) <= max(each) + 0.5
    # Three times as long is judged on 4 of its windows, other passages than `whole`'s: as
    # ham-like as the passages are, and no more spam-like than the shorter text.
    assert min(each) - 0.5 <= model.logit(whole * 3) <= model.logit(whole) + 0.5


def test_long_ham_training_texts_look_like_ham(model: TextModel) -> None:
    """The shipped model learned long prose (the hold-out part is for `comments spam eval`)."""
    train, _ = datasets.long_ham()
    assert len(train) >= 200
    probabilities = sorted(model.probability(e.text) for e in train)
    assert probabilities[len(probabilities) // 2] < 0.1
    assert probabilities[int(len(probabilities) * 0.95)] < 0.5


def test_first_time_commenter_is_held_once() -> None:
    result = Result(-3.0, APPROVE, ())
    held = decide(result, Reputation(), POLICY)
    assert held.verdict == HOLD
    assert "first_comment" in codes(held)
    assert decide(result, Reputation(approved=1, proven=True), POLICY).verdict == APPROVE
    assert decide(result, Reputation(), Policy(hold_first_time=False)).verdict == APPROVE


def test_features_are_stable_bounded_and_windowed() -> None:
    (a,), (b,) = windows("Hello there, world"), windows("Hello there, world")
    assert a.tolist() == b.tolist() == sorted(set(a.tolist()))
    assert windows("") == windows("... , ;") == []
    assert all(0 <= i < 1 << 18 for i in windows("x" * 500)[0].tolist())
    # Windows of 64 words; a tail shorter than 32 joins the window before; a long comment is
    # judged on 4 windows spread from its start to its end.
    assert [len(windows("word " * n)) for n in (1, 96, 97, 128, 130, 1000)] == [1, 1, 2, 2, 2, 4]
    text = " ".join(f"w{i}" for i in range(1000))
    first, *_, last = (set(window.tolist()) for window in windows(text))
    assert first == set(windows(" ".join(f"w{i}" for i in range(64)))[0].tolist())
    assert last == set(windows(" ".join(f"w{i}" for i in range(896, 1000)))[0].tolist())


def test_links_and_numbers_are_seen_by_their_shape() -> None:
    assert tokens("see http://youtu.be/9bZ and https://www.Shop.example.co.uk/a/b/c?x=1") == [
        "see", "url", "url@youtu.be", "url/1",
        "and", "url", "url@example.co.uk", "url/2", "url?",
    ]  # fmt: skip
    assert tokens("bit.ly") == ["url", "url@bit.ly", "url/0"]
    # Links written to read as prose: spaced out, or under any country's domain with a path.
    assert tokens("go to site . com/a, site. com or site.pl/a") == [
        "go", "to", "url", "url@site.com", "url/1",
        "url", "url@site.com", "url/0", "or", "url", "url@site.pl", "url/1",
    ]  # fmt: skip
    assert tokens("tell me. me too, and/or e.g. this, 1.5/10") == [
        "tell", "me", "me", "too", "and", "or", "e", "g", "this", "0.0", "0",
    ]  # fmt: skip
    # Where a link goes is a feature: two sites are two texts, two videos on one site one.
    (video, other_video, shortened) = (
        windows(f"watch {link}")[0].tolist()
        for link in ("http://youtu.be/a", "http://youtu.be/b", "http://bit.ly/a")
    )
    assert video == other_video != shortened
    # A number is its shape: a count or a year, a phone number, digits with separators.
    assert tokens("2 in 2015, call +447935454150: 1,884,034,783 views at 1:39 for $4.99") == [
        "0", "in", "0", "call", "00", "0.0", "views", "at", "0.0", "for", "$", "0.0",
    ]  # fmt: skip


def test_scoring_all_windows_at_once_is_the_mean_of_each(model: TextModel) -> None:
    """`raw` sums every window in one pass; training scores them one by one: the same."""
    text = (Path(__file__).parent / "fixtures" / "long_comments.txt").read_text() * 2
    for sample in (text, text[:300], "Check out my channel!"):
        assert model.raw(sample) == pytest.approx(model.mean_logit(windows(sample)), abs=1e-9)
    assert model.raw("... , ;") == model.mean_logit([]) == model.bias


def test_roc_auc() -> None:
    assert roc_auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert roc_auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    assert roc_auc([0.5, 0.5], [0, 1]) == 0.5


def test_a_trusted_honeypot_hit_is_spam_whatever_the_text(model: TextModel) -> None:
    trap = Signals(form_token=VALID, token_age_s=60, honeypot=True)
    innocent = Candidate("Maria", "Thank you, lovely article.")
    result = score(innocent, model, POLICY, trap, Reputation(approved=5, proven=True))
    assert decide(result, Reputation(approved=5, proven=True), POLICY).verdict == SPAM


def test_a_known_address_without_proof_is_a_new_commenter() -> None:
    """Approved comments from an address are not trust: the browser or the mailbox is."""
    model = TextModel.load()
    unproven = Reputation(approved=7, proven=False)
    assert "trusted" not in codes(score(GOOD, model, POLICY, CALM, unproven))
    decided = decide(Result(-3.0, APPROVE, ()), unproven, POLICY)
    assert decided.verdict == HOLD
    assert {"unproven_address", "first_comment"} <= codes(decided)
    # A held comment is not approved on the strength of the address either.
    held = Result(2.0, HOLD, ())
    assert decide(held, unproven, POLICY).verdict == HOLD
    assert decide(held, Reputation(approved=7, proven=True), POLICY).verdict == APPROVE
