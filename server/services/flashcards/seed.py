"""The shared decks: one per trivia bank and one of exercise facts, refreshed by `adventures seed`.

Cards are found again by their source (question id, exercise slug), so a
re-seed updates text in place and members keep their review history. A card
whose source is gone is retired: hidden, and its members' states dropped.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from graders import trivia
from graders.reference import cache_key
from server.config import REPO_ROOT
from server.extensions import db
from server.models.base import utcnow
from server.models.deck import Card, CardState, Deck
from server.services import exercises
from server.services.games import banks as game_banks
from server.services.grading import references

FACTS_KEY = "facts"


@dataclass(frozen=True)
class CardContent:
    front: str
    back: str
    tags: str = ""


@dataclass
class DeckReport:
    decks: int = 0
    added: int = 0
    updated: int = 0
    retired: int = 0
    skipped: list[str] = field(default_factory=list)


def trivia_dir() -> Path:
    return Path(current_app.config.get("TRIVIA_DIR") or REPO_ROOT / "exercises" / "trivia")


def _fingerprint(folder: Path) -> tuple:
    return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in folder.glob("*.y*ml")))


@functools.lru_cache(maxsize=4)
def _file_banks(folder: str, _fingerprint: tuple) -> dict[str, tuple[trivia.Bank, str]]:
    out = {}
    for bank in trivia.load_banks(folder):
        text = json.dumps(bank.model_dump(mode="json"), sort_keys=True)
        out[bank.slug] = (bank, "file:" + hashlib.sha256(text.encode()).hexdigest()[:40])
    return out


def file_banks() -> dict[str, tuple[trivia.Bank, str]]:
    """The bank files on disk with a content revision, re-read only when a file changes."""
    folder = trivia_dir()
    if not folder.is_dir():
        return {}
    return _file_banks(str(folder), _fingerprint(folder))


def bank_sources() -> dict[str, tuple[trivia.Bank, str]]:
    """Every trivia bank by slug with its revision: the games' seeded banks (keys resolved),
    then any bank file the games have not seeded."""
    sources: dict[str, tuple[trivia.Bank, str]] = {}
    for quiz in game_banks.active_quizzes():
        sources[quiz.slug] = (game_banks.bank_for(quiz.id), f"quiz:{quiz.id}")
    for slug, found in file_banks().items():
        sources.setdefault(slug, found)
    return sources


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>])")


def md_escape(text: str) -> str:
    """Plain text that markdown shows as typed (identifiers like pad_sequences, <OOV>)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def fenced(code: str | None, lang: str = "python") -> str:
    if not code:
        return ""
    fence = "````" if "```" in code else "```"
    return f"\n\n{fence}{lang}\n{code.rstrip()}\n{fence}"


def _cached_key(target: str, kwargs: dict[str, Any]) -> Any:
    """A key_from value from the reference cache; LookupError until a worker computed it."""
    value = references.cached(cache_key(target, kwargs))
    if references.is_missing(value):
        raise LookupError(f"{target} not computed yet")
    return value


def question_content(bank: trivia.Bank, question: trivia.Question) -> CardContent | None:
    """Front: the question and its code; back: the answer and the explanation."""
    if question.needs_key:
        assert question.key_from is not None
        try:
            value = _cached_key(question.key_from.target, dict(question.key_from.kwargs))
            number = float(value)
        except (LookupError, ImportError, TypeError, ValueError):
            return None
        question = question.model_copy(update={"value": number})
    back = f"**{md_escape(trivia.answer_text(question))}**"
    if question.explanation:
        back += f"\n\n{question.explanation.strip()}"
    tags = " ".join(dict.fromkeys([bank.slug, *question.tags]))
    return CardContent(question.text.strip() + fenced(question.code), back, tags)


def question_card(quiz_slug: str, question_id: str) -> CardContent | None:
    """One question as a card: from its bank deck when built, else from the bank itself."""
    row = db.session.scalar(
        select(Card)
        .join(Deck, Deck.id == Card.deck_id)
        .where(Deck.key == f"bank:{quiz_slug}", Card.source == question_id)
    )
    if row is not None:
        return CardContent(row.front, row.back, row.tags)
    found = bank_sources().get(quiz_slug)
    if found is None:
        return None
    bank = found[0]
    try:
        return question_content(bank, bank.question(question_id))
    except KeyError:
        return None


def value_markdown(value: Any, compare: str = "exact") -> str:
    """A reference value as a member reads it: 171,533 or a Python literal in a code block."""
    if hasattr(value, "params") and hasattr(value, "layers"):  # graders.codec.ModelSummary
        layers = ", ".join(value.layers)
        shape = f"; output shape {value.output_shape}" if value.output_shape is not None else ""
        return f"**{value.params:,}** parameters ({md_escape(layers)}{md_escape(shape)})"
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, bool):
        return f"**{value}**"
    if isinstance(value, int):
        return f"**{value:,}**"
    if isinstance(value, float):
        return f"**{value:g}**"
    if isinstance(value, str) and "\n" not in value and len(value) < 80:
        return f"**{md_escape(value)}**"
    return fenced(repr(value)).lstrip()


def exercise_facts() -> tuple[dict[str, CardContent], list[str]]:
    """Cards from short-answer exercises whose default reference value is computed."""
    cards: dict[str, CardContent] = {}
    skipped: list[str] = []
    for exercise in exercises.active_exercises():
        if exercise.kind != "answer":
            continue
        variant = exercises.variant_of(exercise, None)
        key, _target = exercises.reference_key(exercise, variant)
        value = references.cached(key)
        if references.is_missing(value):
            skipped.append(exercise.slug)
            continue
        spec = exercises.spec_of(exercise)
        prompt = exercises.fill(spec.prompt, variant) or ""
        code = exercises.fill(spec.code, variant, in_code=True)
        compare = spec.answer.compare if spec.answer else "exact"
        back = value_markdown(value, compare)
        back += f"\n\nFrom the exercise [{md_escape(exercise.title)}](/exercises/{exercise.slug})."
        tags = " ".join(dict.fromkeys([f"week{exercise.week}", *spec.tags]))
        cards[exercise.slug] = CardContent(prompt.strip() + fenced(code), back, tags)
    return cards, skipped


def _deck(key: str, kind: str, title: str, description: str, revision: str | None = None) -> Deck:
    deck = db.session.scalar(select(Deck).where(Deck.key == key))
    if deck is None:
        deck = Deck(key=key, kind=kind, title=title, description=description)
        db.session.add(deck)
        db.session.flush()
    deck.title, deck.description, deck.revision, deck.retired = title, description, revision, False
    return deck


def _refresh(deck: Deck, contents: dict[str, CardContent], report: DeckReport) -> None:
    existing = {
        c.source: c for c in db.session.scalars(select(Card).where(Card.deck_id == deck.id))
    }
    for source, content in contents.items():
        card = existing.pop(source, None)
        if card is None:
            db.session.add(
                Card(
                    deck_id=deck.id,
                    source=source,
                    front=content.front,
                    back=content.back,
                    tags=content.tags,
                )
            )
            report.added += 1
        elif (card.front, card.back, card.tags, card.retired) != (
            content.front,
            content.back,
            content.tags,
            False,
        ):
            card.front, card.back, card.tags, card.retired = (
                content.front,
                content.back,
                content.tags,
                False,
            )
            card.updated_at = utcnow()
            report.updated += 1
    gone = [c.id for c in existing.values() if not c.retired]
    if gone:
        for card in existing.values():
            card.retired = True
        db.session.execute(delete(CardState).where(CardState.card_id.in_(gone)))
        report.retired += len(gone)


def _bank_deck(bank: trivia.Bank, revision: str, report: DeckReport) -> None:
    deck = _deck(f"bank:{bank.slug}", "bank", bank.title, bank.description, revision)
    contents: dict[str, CardContent] = {}
    for question in bank.questions:
        content = question_content(bank, question)
        if content is None:
            report.skipped.append(f"{bank.slug}/{question.id}")
        else:
            contents[question.id] = content
    _refresh(deck, contents, report)
    report.decks += 1


def refresh_bank_decks(*, force: bool = False) -> DeckReport:
    """Bring each bank deck to its bank's current revision; retire decks of removed banks.

    Cheap when nothing changed (one small query and a stat of the bank files),
    so the deck list calls it and a bank an instructor imports shows up at once.
    """
    report = DeckReport()
    sources = bank_sources()
    decks = {d.key: d for d in db.session.scalars(select(Deck).where(Deck.kind == "bank"))}
    try:
        for slug, (bank, revision) in sources.items():
            deck = decks.pop(f"bank:{slug}", None)
            if force or deck is None or deck.revision != revision or deck.retired:
                _bank_deck(bank, revision, report)
        for deck in decks.values():
            if not deck.retired:
                deck.retired = True
                _refresh(deck, {}, report)
        if report.decks or report.retired:
            db.session.commit()
    except IntegrityError:  # a parallel request refreshed the same deck first
        db.session.rollback()
    return report


def seed_decks() -> DeckReport:
    """Create or refresh the bank decks and the exercise-facts deck. Idempotent."""
    report = refresh_bank_decks(force=True)
    facts, skipped = exercise_facts()
    report.skipped.extend(skipped)
    deck = _deck(
        FACTS_KEY,
        "facts",
        "Exercise facts",
        "Values from the short-answer exercises: parameter counts, shapes, tokenizer outputs.",
    )
    _refresh(deck, facts, report)
    report.decks += 1
    db.session.commit()
    return report


def seed_line() -> str:
    """Run seed_decks and describe it in one line for `adventures seed`."""
    r = seed_decks()
    return (
        f"flashcard decks: {r.decks} decks, {r.added} cards added, {r.updated} updated, "
        f"{r.retired} retired, {len(r.skipped)} waiting for reference values"
    )
