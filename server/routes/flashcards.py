"""Flashcard pages (decks, review screen, stats, settings, guest practice) and the decks/cards API."""

from __future__ import annotations

from functools import wraps
from typing import Literal

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from pydantic import BaseModel, Field

from server.extensions import csrf
from server.routes.errors import ApiError, json_body
from server.routes.guards import api_login_required, api_user
from server.services import flashcard_cards, flashcard_csv, flashcard_stats
from server.services import flashcards as service

bp = Blueprint("flashcards", __name__)
api = Blueprint("flashcards_api", __name__, url_prefix="/api")
csrf.exempt(api)

MAX_ID = 2**31 - 1
CARDS_SHOWN = 300


def _api_errors(view):
    """Service exceptions as the API's JSON errors."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        for key in ("deck_id", "card_id"):
            if kwargs.get(key, 0) > MAX_ID:
                raise ApiError(404, "not_found", f"No {key[:4]} {kwargs[key]}.")
        try:
            return view(*args, **kwargs)
        except service.NotFound as exc:
            raise ApiError(404, "not_found", str(exc)) from exc
        except service.Forbidden as exc:
            raise ApiError(403, "forbidden", str(exc)) from exc
        except service.InvalidInput as exc:
            raise ApiError(400, "bad_request", str(exc)) from exc

    return wrapped


def _page_errors(view):
    """Service exceptions as error pages (403/404) for the HTML routes."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        for key in ("deck_id", "card_id"):
            if kwargs.get(key, 0) > MAX_ID:
                abort(404)
        try:
            return view(*args, **kwargs)
        except service.NotFound as exc:
            abort(404, str(exc))
        except service.Forbidden as exc:
            abort(403, str(exc))

    return wrapped


def _me():
    return current_user._get_current_object() if current_user.is_authenticated else None


# ---- API -----------------------------------------------------------------


class DeckBody(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)


class CardBody(BaseModel):
    front: str = Field(min_length=1, max_length=service.MAX_FIELD)
    back: str = Field(min_length=1, max_length=service.MAX_FIELD)
    tags: str | list[str] = ""


class ReviewBody(BaseModel):
    rating: Literal["again", "hard", "good", "easy"]
    duration_ms: int | None = Field(default=None, ge=0, le=86_400_000)


class SettingsBody(BaseModel):
    desired_retention: float = Field(ge=service.RETENTION_MIN, le=service.RETENTION_MAX)
    new_cards_per_day: int = Field(ge=0, le=service.NEW_PER_DAY_MAX)


@api.get("/decks")
@api_login_required
def api_decks():
    """Your decks with due counts: [{id, title, due: {new, learning, review}}]."""
    return jsonify(service.decks_overview(api_user()))


@api.post("/decks")
@api_login_required
@_api_errors
def api_create_deck():
    """Create a deck of your own cards."""
    body = json_body(DeckBody)
    deck = flashcard_cards.create_deck(api_user(), body.title, body.description)
    return jsonify(id=deck.id, title=deck.title, kind=deck.kind), 201


api_create_deck.openapi_body = DeckBody


@api.get("/decks/<int:deck_id>/next")
@api_login_required
@_api_errors
def api_next(deck_id: int):
    """The next due card of the deck (front, back, state, intervals, counts), or 204."""
    card = service.next_card(api_user(), deck_id)
    if card is None:
        return Response(status=204)
    return jsonify(card)


@api.get("/decks/<int:deck_id>/cards")
@_api_errors
def api_cards(deck_id: int):
    """The deck's cards as JSON; shared decks are public (guest practice)."""
    deck, cards = service.deck_cards(api_user(optional=True), deck_id)
    return jsonify(
        deck={"id": deck.id, "title": deck.title, "kind": deck.kind},
        cards=[service.card_view(c) for c in cards],
    )


@api.post("/decks/<int:deck_id>/cards")
@api_login_required
@_api_errors
def api_add_card(deck_id: int):
    """Add a card (markdown front and back, tags) to one of your decks."""
    body = json_body(CardBody)
    card = flashcard_cards.add_card(api_user(), deck_id, body.front, body.back, body.tags)
    return jsonify(service.card_view(card)), 201


api_add_card.openapi_body = CardBody


@api.get("/decks/<int:deck_id>/cards.csv")
@_api_errors
def api_export(deck_id: int):
    """The deck as CSV (front, back, tags) with Anki's import headers."""
    return _csv_response(api_user(optional=True), deck_id)


@api.post("/decks/<int:deck_id>/import")
@api_login_required
@_api_errors
def api_import(deck_id: int):
    """Import CSV rows (front, back, tags) into one of your decks: all rows or none."""
    upload = request.files.get("file")
    data = upload.read() if upload is not None else request.get_data()
    try:
        count = flashcard_csv.import_csv(api_user(), deck_id, data)
    except flashcard_csv.CsvImportError as exc:
        body = {
            "error": "bad_csv",
            "message": str(exc),
            "rows": [{"row": e.row, "line": e.line, "problem": e.problem} for e in exc.errors],
        }
        return jsonify(body), 400
    return jsonify(imported=count), 201


@api.post("/cards/<int:card_id>/reviews")
@api_login_required
@_api_errors
def api_review(card_id: int):
    """Rate a card (again, hard, good, easy); answers its new FSRS state and due time."""
    body = json_body(ReviewBody)
    return jsonify(service.review(api_user(), card_id, body.rating, duration_ms=body.duration_ms))


api_review.openapi_body = ReviewBody


@api.get("/flashcards/stats")
@api_login_required
def api_stats():
    """Reviews per day, true retention and the 30-day due forecast."""
    return jsonify(flashcard_stats.stats(api_user()))


@api.get("/flashcards/settings")
@api_login_required
def api_settings():
    """Your desired retention and new cards per day."""
    return jsonify(service.settings_view(api_user()))


@api.post("/flashcards/settings")
@api_login_required
@_api_errors
def api_update_settings():
    """Set desired retention (0.80-0.97) and new cards per day."""
    body = json_body(SettingsBody)
    user = api_user()
    service.update_settings(user, body.desired_retention, body.new_cards_per_day)
    return jsonify(service.settings_view(user))


api_update_settings.openapi_body = SettingsBody


def _csv_response(user, deck_id: int) -> Response:
    deck, cards = service.deck_cards(user, deck_id)
    name = "".join(ch if ch.isalnum() else "-" for ch in deck.title.lower()).strip("-") or "deck"
    return Response(
        flashcard_csv.export_csv(deck, cards),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name[:60]}.csv"'},
    )


# ---- pages ---------------------------------------------------------------


@bp.get("/flashcards")
def index():
    user = _me()
    if user is None:
        decks = service.shared_decks()
        return render_template("flashcards/index.html", decks=None, shared=decks)
    return render_template("flashcards/index.html", decks=service.decks_overview(user), shared=None)


@bp.post("/flashcards/decks")
@login_required
def create_deck():
    try:
        deck = flashcard_cards.create_deck(_me(), request.form.get("title", ""))
    except service.InvalidInput as exc:
        flash(str(exc), "error")
        return redirect(url_for("flashcards.index"))
    return redirect(url_for("flashcards.deck", deck_id=deck.id))


@bp.get("/flashcards/decks/<int:deck_id>")
@login_required
@_page_errors
def deck(deck_id: int):
    found, cards = service.deck_cards(_me(), deck_id)
    return render_template(
        "flashcards/deck.html",
        deck=found,
        cards=cards[:CARDS_SHOWN],
        total=len(cards),
        editable=found.kind == "own",
    )


@bp.post("/flashcards/decks/<int:deck_id>/cards")
@login_required
@_page_errors
def add_card(deck_id: int):
    form = request.form
    try:
        flashcard_cards.add_card(
            _me(), deck_id, form.get("front", ""), form.get("back", ""), form.get("tags", "")
        )
        flash("Card added.", "ok")
    except service.InvalidInput as exc:
        flash(f"Not added: {exc}", "error")
    return redirect(url_for("flashcards.deck", deck_id=deck_id) + "#add")


@bp.route("/flashcards/cards/<int:card_id>/edit", methods=["GET", "POST"])
@login_required
@_page_errors
def edit_card(card_id: int):
    card = flashcard_cards.own_card(_me(), card_id)
    if request.method == "POST":
        form = request.form
        try:
            flashcard_cards.edit_card(
                _me(), card_id, form.get("front", ""), form.get("back", ""), form.get("tags", "")
            )
        except service.InvalidInput as exc:
            flash(str(exc), "error")
            return render_template("flashcards/edit.html", card=card), 400
        flash("Card saved.", "ok")
        return redirect(url_for("flashcards.deck", deck_id=card.deck_id))
    return render_template("flashcards/edit.html", card=card)


@bp.post("/flashcards/cards/<int:card_id>/delete")
@login_required
@_page_errors
def delete_card(card_id: int):
    deck_id = flashcard_cards.delete_card(_me(), card_id)
    flash("Card deleted.", "ok")
    return redirect(url_for("flashcards.deck", deck_id=deck_id))


@bp.post("/flashcards/decks/<int:deck_id>/import")
@login_required
@_page_errors
def import_csv(deck_id: int):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Choose a CSV file to import.", "error")
        return redirect(url_for("flashcards.deck", deck_id=deck_id))
    try:
        count = flashcard_csv.import_csv(_me(), deck_id, upload.read())
    except flashcard_csv.CsvImportError as exc:
        found, cards = service.deck_cards(_me(), deck_id)
        return render_template(
            "flashcards/deck.html",
            deck=found,
            cards=cards[:CARDS_SHOWN],
            total=len(cards),
            editable=True,
            import_errors=exc.errors,
        ), 400
    flash(f"Imported {count} cards.", "ok")
    return redirect(url_for("flashcards.deck", deck_id=deck_id))


@bp.get("/flashcards/decks/<int:deck_id>/export.csv")
@_page_errors
def export_csv(deck_id: int):
    return _csv_response(_me(), deck_id)


@bp.get("/flashcards/decks/<int:deck_id>/study")
@login_required
@_page_errors
def study(deck_id: int):
    found = service.get_deck(_me(), deck_id)
    return render_template("flashcards/study.html", deck=found, guest=False)


@bp.get("/flashcards/practice/<int:deck_id>")
@_page_errors
def practice(deck_id: int):
    """Guest practice: the page fetches the public cards and schedules in localStorage."""
    found = service.get_deck(None, deck_id)
    return render_template("flashcards/study.html", deck=found, guest=True)


@bp.get("/flashcards/stats")
@login_required
def stats():
    return render_template("flashcards/stats.html", stats=flashcard_stats.stats(_me()))


@bp.route("/flashcards/settings", methods=["GET", "POST"])
@login_required
def settings():
    user = _me()
    if request.method == "POST":
        try:
            retention = float(request.form.get("desired_retention", ""))
            per_day = int(request.form.get("new_cards_per_day", ""))
        except ValueError:
            flash("Give numbers: retention like 0.90 and a whole number of new cards.", "error")
            return render_template("flashcards/settings.html", s=service.settings_view(user)), 400
        try:
            service.update_settings(user, retention, per_day)
        except service.InvalidInput as exc:
            flash(str(exc), "error")
            return render_template("flashcards/settings.html", s=service.settings_view(user)), 400
        flash("Settings saved.", "ok")
        return redirect(url_for("flashcards.settings"))
    return render_template("flashcards/settings.html", s=service.settings_view(user))
