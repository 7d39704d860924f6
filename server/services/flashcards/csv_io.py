"""CSV exchange with Anki: export front, back, tags; import all rows or none.

The export carries Anki's file headers (#separator, #html, #columns,
#tags column, #notetype, #deck) so Anki's File > Import maps the columns by
itself. Fields stay markdown and are imported into Anki as plain text
(#html:false), so export followed by import gives back the same cards.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from server.extensions import db
from server.models.deck import NEW, Card, CardState, Deck
from server.models.user import User
from server.services.errors import StatusError
from server.services.flashcards.base import InvalidInput, deck_cards, editable_deck
from server.services.flashcards.cards import check_fields, clean_tags

MAX_ROWS = 20_000
SEPARATORS = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|", "space": " "}


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based among the data rows
    line: int  # the line of the file where the row starts
    problem: str

    def __str__(self) -> str:
        return f"row {self.row} (line {self.line}): {self.problem}"


class CsvImportError(StatusError):
    """The file was refused (400 bad_csv); `errors` lists every bad row. Nothing was imported."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        shown = "; ".join(str(e) for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        rows = [{"row": e.row, "line": e.line, "problem": e.problem} for e in errors]
        super().__init__(400, "bad_csv", f"Nothing was imported: {shown}{more}", rows=rows)


def export_deck(user: User | None, deck_id: int) -> tuple[str, str]:
    """A deck the caller sees as (CSV text, file name): the title in lower case, at most 60
    characters of letters, digits and dashes, then ".csv"."""
    deck, cards = deck_cards(user, deck_id)
    name = "".join(ch if ch.isalnum() else "-" for ch in deck.title.lower()).strip("-") or "deck"
    return export_csv(deck, cards), f"{name[:60]}.csv"


def export_csv(deck: Deck, cards: list[Card]) -> str:
    out = io.StringIO()
    title = " ".join(deck.title.replace(":", " ").split()) or "Deck"
    out.write("#separator:comma\n#html:false\n#notetype:Basic\n")
    out.write(f"#deck:Adventures::{title}\n#columns:Front,Back,Tags\n#tags column:3\n")
    writer = csv.writer(out, lineterminator="\n")
    for card in cards:
        writer.writerow([card.front, card.back, card.tags])
    return out.getvalue()


@dataclass(frozen=True)
class ParsedRow:
    front: str
    back: str
    tags: str


def _headers(lines: list[str]) -> tuple[dict[str, str], int]:
    """Anki's '#key:value' lines at the top of the file, and how many lines they take."""
    found: dict[str, str] = {}
    count = 0
    for line in lines:
        if not line.startswith("#") or ":" not in line:
            break
        key, _, value = line[1:].partition(":")
        found[key.strip().lower()] = value.strip()
        count += 1
    return found, count


def _separator(headers: dict[str, str], first: str) -> str:
    given = headers.get("separator")
    if given:
        return SEPARATORS.get(given.lower(), given[0])
    return "\t" if "\t" in first and "," not in first else ","


def parse_csv(data: bytes | str) -> list[ParsedRow]:
    """Every row of the file, or CsvImportError naming each bad row."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            problem = f"the file is not UTF-8 text ({exc.reason})"
            raise CsvImportError([RowError(0, 1, problem)]) from exc
    if "\x00" in data:  # no text column (PostgreSQL's least of all) can hold a NUL byte
        line = data.count("\n", 0, data.index("\x00")) + 1
        raise CsvImportError([RowError(0, line, "the file has a NUL byte; save it as UTF-8 CSV")])
    lines = data.splitlines(keepends=True)
    headers, skip = _headers([ln.rstrip("\r\n") for ln in lines])
    body = "".join(lines[skip:])
    sep = _separator(headers, body.split("\n", 1)[0])
    columns = [c.strip().lower() for c in headers.get("columns", "").split(sep) if c.strip()]
    where = {"front": 0, "back": 1, "tags": 2}
    if columns:
        where = {name: columns.index(name) for name in ("front", "back", "tags") if name in columns}
        if "front" not in where or "back" not in where:
            where = {"front": 0, "back": 1, "tags": 2}
    if headers.get("tags column", "").isdigit():
        where["tags"] = int(headers["tags column"]) - 1
    width = max(where.values()) + 1

    reader = csv.reader(io.StringIO(body, newline=""), delimiter=sep, strict=True)
    rows: list[ParsedRow] = []
    errors: list[RowError] = []
    number = 0
    line_before = 0
    try:
        for record in reader:
            start = skip + line_before + 1
            line_before = reader.line_num
            if not any(field.strip() for field in record):
                continue
            if number == 0 and [f.strip().lower() for f in record[:2]] == ["front", "back"]:
                continue  # a plain header row
            number += 1
            if number > MAX_ROWS:
                errors.append(RowError(number, start, f"more than {MAX_ROWS} rows; split the file"))
                break
            problem = _row_problem(record, where, width)
            if problem:
                errors.append(RowError(number, start, problem))
                continue
            tags_at = where.get("tags")
            tags = record[tags_at] if tags_at is not None and tags_at < len(record) else ""
            try:
                front, back = check_fields(record[where["front"]], record[where["back"]])
                rows.append(ParsedRow(front, back, clean_tags(tags)))
            except InvalidInput as exc:
                errors.append(RowError(number, start, str(exc)))
    except csv.Error as exc:
        errors.append(RowError(number + 1, skip + line_before + 1, f"cannot read CSV: {exc}"))
    if errors:
        raise CsvImportError(errors)
    if not rows:
        raise CsvImportError(
            [RowError(0, 1, "the file has no cards (expected front,back,tags rows)")]
        )
    return rows


def _row_problem(record: list[str], where: dict[str, int], width: int) -> str | None:
    if len(record) < max(where["front"], where["back"]) + 1:
        return f"has {len(record)} column(s); expected front, back and optional tags"
    if len(record) > width:
        return f"has {len(record)} columns; expected at most {width} (front, back, tags)"
    return None


def import_csv(user: User, deck_id: int, data: bytes | str) -> int:
    """Add every row of the file to the member's own deck, in one transaction; returns the count."""
    deck = editable_deck(user, deck_id)
    rows = parse_csv(data)
    cards = [Card(deck_id=deck.id, front=r.front, back=r.back, tags=r.tags) for r in rows]
    db.session.add_all(cards)
    db.session.flush()
    db.session.add_all(
        CardState(
            user_id=user.id,
            card_id=c.id,
            deck_id=deck.id,
            state=NEW,
            due=c.created_at,
            reps=0,
            lapses=0,
        )
        for c in cards
    )
    db.session.commit()
    return len(cards)
