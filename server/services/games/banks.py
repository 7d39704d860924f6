"""Trivia banks in the database: seeded from exercises/trivia, imported from Kahoot CSV.

A bank is stored with its computed keys already resolved (TensorFlow runs in
the seed command's reference child process, never in the web process), one
row per content version, so a game keeps the questions it was played with.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select, update

from graders.trivia import Bank, BankError, Question, load_banks, parse_bank, resolve_keys
from graders.trivia_csv import export_kahoot_csv, import_kahoot_csv, kahoot_misfits
from server.config import REPO_ROOT
from server.extensions import db
from server.models.game import Quiz
from server.services.errors import StatusError
from server.services.grading import references

TRIVIA_DIR = REPO_ROOT / "exercises" / "trivia"


class QuizError(StatusError, ValueError):
    """A bank that cannot be imported or exported (422 "bad_bank"); the message says why."""


@dataclass
class QuizSeedReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def content_hash(bank: Bank) -> str:
    """The hash of a bank as written (before keys are computed): it versions the Quiz rows."""
    text = json.dumps(bank.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _latest(slug: str) -> Quiz | None:
    return db.session.scalar(select(Quiz).where(Quiz.slug == slug).order_by(Quiz.version.desc()))


def _store(bank: Bank, digest: str, *, source: str, user_id: int | None = None) -> Quiz:
    """Add a new version of bank and make it the only active one of its slug."""
    top = db.session.scalar(select(func.max(Quiz.version)).where(Quiz.slug == bank.slug)) or 0
    db.session.execute(update(Quiz).where(Quiz.slug == bank.slug).values(active=False))
    row = Quiz(
        slug=bank.slug,
        version=top + 1,
        content_hash=digest,
        title=bank.title,
        description=bank.description,
        bank=bank.model_dump(mode="json"),
        question_count=len(bank.questions),
        source=source,
        active=True,
        created_by=user_id,
    )
    db.session.add(row)
    return row


def seed_quizzes(
    *,
    compute: bool = True,
    log: Callable[[str], Any] = print,
    folder: Path = TRIVIA_DIR,
    resolver: Callable[[str, dict[str, Any]], Any] | None = None,
) -> QuizSeedReport:
    """Load every bank in folder; a changed bank gets a new version. Idempotent.

    Keys computed by reference solutions (`key_from`) are resolved only for a
    new or changed bank, through `resolver` (default: the reference runner's
    child process). Without compute such a bank is skipped until the next
    seed that may compute.
    """
    report = QuizSeedReport()
    banks = load_banks(folder)
    for bank in banks:
        digest = content_hash(bank)
        row = _latest(bank.slug)
        if row is not None and row.content_hash == digest:
            if not row.active:
                db.session.execute(update(Quiz).where(Quiz.slug == bank.slug).values(active=False))
                row.active = True
                report.updated.append(bank.slug)
            else:
                report.unchanged.append(bank.slug)
            continue
        if any(q.key_from is not None for q in bank.questions):
            if not compute:
                if bank.unresolved:
                    report.skipped.append(bank.slug)
                    log(f"trivia bank '{bank.slug}': needs computed keys; run `adventures seed`")
                    continue
            else:
                try:
                    bank = resolve_keys(bank, resolver or _reference_call())
                except BankError as exc:
                    report.skipped.append(bank.slug)
                    log(f"trivia bank '{bank.slug}' skipped: {exc}")
                    continue
        _store(bank, digest, source="bundled")
        (report.added if row is None else report.updated).append(bank.slug)
    seen = {b.slug for b in banks}
    for quiz in db.session.scalars(select(Quiz).where(Quiz.active, Quiz.source == "bundled")):
        if quiz.slug not in seen:
            quiz.active = False
            report.retired.append(quiz.slug)
    db.session.commit()
    return report


def _reference_call() -> Callable[[str, dict[str, Any]], Any]:
    return references.runner().call


def seed_log_line(report: QuizSeedReport) -> str:
    return (
        f"trivia banks: {len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.retired)} retired, "
        f"{len(report.skipped)} skipped"
    )


# ---- reading ---------------------------------------------------------------


def active_quizzes() -> list[Quiz]:
    return list(db.session.scalars(select(Quiz).where(Quiz.active).order_by(Quiz.slug)))


def quiz_by_slug(slug: str) -> Quiz | None:
    return db.session.scalar(select(Quiz).where(Quiz.slug == slug, Quiz.active))


class _Cached:
    """A parsed bank and the views derived from it, valid while its row's hash is unchanged."""

    def __init__(self, digest: str, bank: Bank) -> None:
        self.digest = digest
        self.bank = bank
        self.views: dict[tuple[str, int], dict[str, Any]] = {}


_cache: dict[int, _Cached] = {}
_DIGEST = select(Quiz.content_hash).where(Quiz.id == bindparam("quiz_id"))
_cache_lock = threading.Lock()


def cached(quiz_id: int, digest: str | None = None) -> _Cached:
    """The parsed bank of a Quiz row, parsed once per process.

    Rows never change once written; the hash check (pass `digest` when the
    caller's query already read it) only guards against an id reused after a
    table was emptied, as tests do.
    """
    if digest is None:
        digest = db.session.scalar(_DIGEST, {"quiz_id": quiz_id})
    if digest is None:
        raise LookupError(f"no quiz {quiz_id}")
    entry = _cache.get(quiz_id)
    if entry is None or entry.digest != digest:
        data = db.session.scalar(select(Quiz.bank).where(Quiz.id == quiz_id))
        entry = _Cached(digest, parse_bank(data, f"quiz {quiz_id}", resolved=True))
        with _cache_lock:
            if len(_cache) > 256:
                _cache.clear()
            _cache[quiz_id] = entry
    return entry


def bank_for(quiz_id: int) -> Bank:
    return cached(quiz_id).bank


def question_at(quiz_id: int, index: int, digest: str | None = None) -> Question:
    return cached(quiz_id, digest).bank.questions[index]


def quiz_view(quiz: Quiz) -> dict[str, Any]:
    return {
        "slug": quiz.slug,
        "title": quiz.title,
        "description": quiz.description,
        "questions": quiz.question_count,
        "version": quiz.version,
        "source": quiz.source,
    }


# ---- Kahoot CSV -------------------------------------------------------------


def import_csv(
    text: str, *, slug: str, title: str, description: str = "", user_id: int | None = None
) -> Quiz:
    """A new bank (or a new version of an imported one) from Kahoot's spreadsheet template."""
    current = _latest(slug)
    if current is not None and current.source == "bundled":
        raise QuizError(
            409,
            "slug_taken",
            f"'{slug}' is a bundled bank (exercises/trivia); choose another slug.",
        )
    try:
        bank = import_kahoot_csv(text, slug=slug, title=title, description=description)
    except BankError as exc:
        raise QuizError(422, "bad_bank", str(exc)) from exc
    digest = content_hash(bank)
    if current is not None and current.content_hash == digest and current.active:
        return current
    row = _store(bank, digest, source="csv", user_id=user_id)
    db.session.commit()
    return row


def export_csv(quiz: Quiz, *, strict: bool = False) -> tuple[str, list[str]]:
    """The bank in Kahoot's layout, and the ids of questions it cannot hold (left out)."""
    bank = bank_for(quiz.id)
    try:
        text = export_kahoot_csv(bank, skip_unsupported=not strict)
    except BankError as exc:
        raise QuizError(422, "bad_bank", str(exc)) from exc
    return text, [q.id for q, _why in kahoot_misfits(bank)]


def kahoot_fit(quiz: Quiz) -> dict[str, Any]:
    """What an export would hold, for the page to say before the download."""
    bank = bank_for(quiz.id)
    misfits = kahoot_misfits(bank)
    return {
        "total": len(bank.questions),
        "kept": len(bank.questions) - len(misfits),
        "left_out": [{"id": q.id, "text": q.text, "reason": why} for q, why in misfits],
    }
