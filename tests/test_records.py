"""The public view and thread shape built from stored records."""

from __future__ import annotations

from service.core.records import build_thread


def c(cid: str, parent: str | None = None) -> dict[str, object]:
    return {"id": cid, "parent_id": parent, "name": cid, "text": cid}


def test_replies_nest_under_parents_in_order() -> None:
    thread = build_thread([c("a"), c("b"), c("a1", "a"), c("a1x", "a1"), c("a2", "a")])
    assert [t["id"] for t in thread] == ["a", "b"]
    replies = thread[0]["replies"]
    assert isinstance(replies, list)
    assert [r["id"] for r in replies] == ["a1", "a2"]
    assert [r["id"] for r in replies[0]["replies"]] == ["a1x"]
    assert thread[1]["replies"] == []


def test_reply_to_a_hidden_parent_stays_visible_at_top_level() -> None:
    thread = build_thread([c("a"), c("orphan", "gone")])
    assert [t["id"] for t in thread] == ["a", "orphan"]
    assert thread[1]["parent_id"] == "gone"
