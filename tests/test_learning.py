"""Online learning from moderator decisions, shared through Redis with every worker."""

from __future__ import annotations

import asyncio
import json
import struct

import redis

from service.core import keys
from service.core.settings import Settings
from service.store import moderation
from tests import helpers
from tests.helpers import Client, drain, run_cli, stored_comments
from workers import learning
from workers.textmodel import TextModel

SPAM_WAVE = [
    "Dear editor, cooperation is wonderful, visit lunarbargains outlet for moon rock pendants",
    "Great analysis, also lunarbargains outlet ships moon rock pendants worldwide today",
    "So true about Roscosmos. Moon rock pendants at lunarbargains outlet, best prices",
    "Agree with the article. lunarbargains outlet has moon rock pendants on sale now",
    "Interesting read, meanwhile lunarbargains outlet restocked moon rock pendants",
    "Nice piece on the station; lunarbargains outlet moon rock pendants make great gifts",
]
NEXT_ONE = "Good points here. Get moon rock pendants from lunarbargains outlet this week"


async def submit(client: Client, text: str, n: int) -> str:
    fields = {"name": f"Reader {n}", "email": f"r{n}@example.com", "comment": text}
    return await helpers.submit(client, fields, article="story")


async def test_moderator_spam_labels_teach_every_worker(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    baseline = TextModel.load()
    before = baseline.probability(NEXT_ONE)
    for n, text in enumerate(SPAM_WAVE):
        cid = await submit(client, text, n)
        rconn.zrem(keys.pending(), cid)
        assert moderation.apply(rconn, settings, cid, "spam", "alice").result == "done"
    assert (
        await asyncio.to_thread(run_cli, settings, "spam", "learn")
    ).strip() == f"learned from {len(SPAM_WAVE)} labels"
    assert (
        await asyncio.to_thread(run_cli, settings, "spam", "learn")
    ).strip() == "learned from 0 labels"

    version, learned = learning.load(rconn, baseline)
    assert version == 1
    after = learned.probability(NEXT_ONE)
    # In log-odds: the calibrated baseline is sure this is ham (~3 %), and moving a sure
    # probability by a fixed amount is a bigger step than moving an unsure one.
    assert learned.logit(NEXT_ONE) > baseline.logit(NEXT_ONE) + 1.0, (before, after)
    assert learned.probability("Thanks for the careful reporting on the conference.") < 0.5

    # A worker (a fresh one: it finds the learned model in Redis) scores the next comment.
    cid = await submit(client, NEXT_ONE, 99)
    await drain(settings)
    reasons = json.loads(stored_comments(rconn)[cid]["reasons"])
    text_reason = next(r for r in reasons if r["code"] == "text_model")
    assert text_reason["text"] == f"Text looks {after:.0%} spam-like."


async def test_one_mistaken_label_does_not_flip_the_model(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    ham = "Thank you for explaining the memorandum; the 2021 timeline was confusing before."
    baseline = TextModel.load()
    cid = await submit(client, ham, 1)
    rconn.zrem(keys.pending(), cid)
    moderation.apply(rconn, settings, cid, "spam", "tired-moderator")
    learning.learn(rconn, baseline, learning.replay_examples())
    _, learned = learning.load(rconn, baseline)
    assert learned.probability(ham) < 0.5
    assert abs(learned.probability(ham) - baseline.probability(ham)) < 0.25


async def test_weights_learned_for_another_model_are_relearned_from_every_label(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    """After an upgrade ships another model (or the earlier format: bias and weights only),
    stored weights are stale: workers score with the new baseline, and learning starts again
    from it with the whole label stream."""
    baseline = TextModel.load()
    replay = learning.replay_examples()
    for n, text in enumerate(SPAM_WAVE[:3]):
        cid = await submit(client, text, n)
        rconn.zrem(keys.pending(), cid)
        moderation.apply(rconn, settings, cid, "spam", "alice")
    older = baseline.with_weights(baseline.weights * 0.5, baseline.bias + 1.0)
    assert learning.learn(rconn, older, replay) == 3
    version, model = learning.load(rconn, baseline)
    assert version == 1
    assert model is baseline  # learned from another model: not used

    assert learning.learn(rconn, baseline, replay) == 3  # every label again, onto this one
    version, model = learning.load(rconn, baseline)
    assert version == 2
    assert model is not baseline
    assert (model.slope, model.offset) == (baseline.slope, baseline.offset)
    assert model.probability(NEXT_ONE) > baseline.probability(NEXT_ONE)
    assert learning.learn(rconn, baseline, replay) == 0

    # The format before calibration and windows: a bias and the weights.
    rconn.set(keys.model_weights(), struct.pack("<d", 0.5) + baseline.weights.tobytes())
    assert learning.load(rconn, baseline)[1] is baseline
    assert learning.learn(rconn, baseline, replay) == 3
