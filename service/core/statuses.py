"""A comment's statuses and the moves allowed between them: one table, read by every path.

Entering or leaving a status has side effects (thread membership, folders, reputation);
`service/store/transitions.py` performs them, for the worker's decision, moderators' actions,
one-click links and erasure alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    PENDING = "pending"  # accepted, waiting for the worker's decision
    HELD = "held"  # waiting for a moderator
    APPROVED = "approved"  # public in its article's thread
    SPAM = "spam"  # hidden in the spam folder, restorable
    REJECTED = "rejected"  # hidden by a moderator
    DELETED = "deleted"  # erased by its author; the record goes with it


S = Status
# Every path may also erase (DELETED); nothing leaves DELETED.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    # The worker decides; a moderator may act before it does.
    S.PENDING: frozenset({S.HELD, S.APPROVED, S.SPAM, S.REJECTED, S.DELETED}),
    # PENDING again: an edited comment is scored again.
    S.HELD: frozenset({S.APPROVED, S.SPAM, S.REJECTED, S.PENDING, S.DELETED}),
    # HELD again: readers' reports past the hiding threshold, until a moderator decides.
    S.APPROVED: frozenset({S.REJECTED, S.SPAM, S.HELD, S.PENDING, S.DELETED}),
    S.SPAM: frozenset({S.APPROVED, S.REJECTED, S.DELETED}),
    S.REJECTED: frozenset({S.APPROVED, S.SPAM, S.DELETED}),
    S.DELETED: frozenset(),
}

# What a comment's author is told about it: held is still "awaiting moderation" to them, and
# rejected, spam and erased look alike ("gone"), so the answer never says why.
AS_SEEN_BY_AUTHOR: dict[str, str] = {
    Status.PENDING: "pending",
    Status.HELD: "pending",
    Status.APPROVED: "approved",
}


@dataclass(frozen=True, slots=True)
class Action:
    """What a moderator can do to a comment, by name (API, one-click links, workspace)."""

    target: Status
    # Narrower than the transition table: "not spam" only restores from the spam folder.
    only_from: frozenset[Status] | None = None

    def allowed_from(self, before: Status) -> bool:
        return (self.only_from is None or before in self.only_from) and can_move(
            before, self.target
        )


MODERATOR_ACTIONS = {
    "approve": Action(Status.APPROVED),
    "reject": Action(Status.REJECTED),
    "spam": Action(Status.SPAM),
    "ham": Action(Status.APPROVED, only_from=frozenset({Status.SPAM})),
}


class TransitionError(ValueError):
    """A move the transition table does not allow."""


def can_move(before: Status, after: Status) -> bool:
    return after in TRANSITIONS[before]


def parse(value: str | None) -> Status:
    """A stored status; records written before a status existed count as pending."""
    return Status(value) if value else Status.PENDING
