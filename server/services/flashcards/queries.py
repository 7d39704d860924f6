"""The hot flashcard queries, built once with bound parameters.

Building a SQLAlchemy statement costs more CPU than SQLite needs to run these
index probes, so the statements behind `next` and `reviews` are module-level
constants executed with parameters (see tests/bench/bench_flashcards.py).
"""

from __future__ import annotations

from sqlalchemy import and_, bindparam, case, func, literal, select, union_all

from server.models.deck import LEARNING, NEW, RELEARNING, REVIEW, Card, CardState, Review

_user = CardState.user_id == bindparam("user_id")
_deck = CardState.deck_id == bindparam("deck_id")
_now = CardState.due <= bindparam("now")
_learning = CardState.state.in_((LEARNING, RELEARNING))

NEW_TODAY = select(func.count()).where(
    Review.user_id == bindparam("user_id"),
    Review.day == bindparam("day"),
    Review.state_before == NEW,
)

# Per deck: learning due now, learning due within the learn-ahead limit, reviews due now.
DUE = (
    select(
        CardState.deck_id,
        func.sum(case((and_(_learning, _now), 1), else_=0)),
        func.sum(case((_learning, 1), else_=0)),
        func.sum(case((and_(CardState.state == REVIEW, _now), 1), else_=0)),
    )
    .where(
        _user,
        CardState.deck_id.in_(bindparam("deck_ids", expanding=True)),
        CardState.state.in_((LEARNING, REVIEW, RELEARNING)),
        CardState.due <= bindparam("ahead"),
    )
    .group_by(CardState.deck_id)
)

# New cards of one deck, counted only up to today's budget.
NEW_CAPPED = select(func.count()).select_from(
    select(CardState.id)
    .where(_user, _deck, CardState.state == NEW)
    .limit(bindparam("budget"))
    .subquery()
)


def _probe(priority: int, state: int, *where):
    """The earliest-due row of one state: one ordered probe of the (user, deck, state, due) index."""
    first = (
        select(CardState.id, CardState.due, literal(priority).label("priority"))
        .where(_user, _deck, CardState.state == state, *where)
        .order_by(CardState.due, CardState.id)
        .limit(1)
        .subquery()
    )
    return select(first.c.id, first.c.due, first.c.priority)


_ahead = CardState.due <= bindparam("ahead")
_candidates = union_all(
    _probe(0, LEARNING, _now),
    _probe(0, RELEARNING, _now),
    _probe(1, REVIEW, _now),
    _probe(2, NEW, bindparam("budget") > 0),
    _probe(3, LEARNING, _ahead),
    _probe(3, RELEARNING, _ahead),
).subquery()

# Due learning cards, then due reviews, then new cards (within budget), then learn-ahead.
NEXT_ID = select(_candidates.c.id).order_by(_candidates.c.priority, _candidates.c.due).limit(1)

STATE_AND_CARD = (
    select(CardState, Card)
    .join(Card, Card.id == CardState.card_id)
    .where(CardState.id == bindparam("state_id"))
)

STATE_OF_CARD = select(CardState).where(_user, CardState.card_id == bindparam("card_id"))
