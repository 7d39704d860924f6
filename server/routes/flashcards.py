"""Flashcard pages (decks, review screen, stats, settings, guest practice) and the decks/cards API."""

from __future__ import annotations

from typing import Literal

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from pydantic import BaseModel, ConfigDict, Field

from server.extensions import csrf
from server.routes.attachments import send_attachment
from server.routes.errors import json_body
from server.routes.guards import api_login_required, api_user
from server.services.flashcards import base, cards, csv_io, reviews
from server.services.flashcards import stats as card_stats

bp = Blueprint("flashcards", __name__)
api = Blueprint("flashcards_api", __name__, url_prefix="/api")
csrf.exempt(api)

CARDS_SHOWN = 300


def _me():
    return current_user._get_current_object() if current_user.is_authenticated else None


# ---- API -----------------------------------------------------------------


class DeckBody(BaseModel):
    model_config = ConfigDict(strict=True)  # no `false` for a number, no 1.0 for a count

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)


class CardBody(BaseModel):
    model_config = ConfigDict(strict=True)

    front: str = Field(min_length=1, max_length=base.MAX_FIELD)
    back: str = Field(min_length=1, max_length=base.MAX_FIELD)
    tags: str | list[str] = ""


class ReviewBody(BaseModel):
    model_config = ConfigDict(strict=True)

    rating: Literal["again", "hard", "good", "easy"]
    duration_ms: int | None = Field(default=None, ge=0, le=86_400_000)


class SettingsBody(BaseModel):
    model_config = ConfigDict(strict=True)

    desired_retention: float = Field(ge=reviews.RETENTION_MIN, le=reviews.RETENTION_MAX)
    new_cards_per_day: int = Field(ge=0, le=reviews.NEW_PER_DAY_MAX)


class CsvUpload(BaseModel):
    file: bytes = Field(description="CSV rows: front, back, tags (Anki's export works)")


@api.get("/decks")
@api_login_required
def api_decks():
    """Your decks with due counts: [{id, title, due: {new, learning, review}}]."""
    return jsonify(reviews.decks_overview(api_user()))


@api.post("/decks")
@api_login_required
def api_create_deck():
    """Create a deck of your own cards."""
    body = json_body(DeckBody)
    deck = cards.create_deck(api_user(), body.title, body.description)
    return jsonify(id=deck.id, title=deck.title, kind=deck.kind), 201


api_create_deck.openapi_body = DeckBody
api_create_deck.openapi_status = 201


@api.get("/decks/<int:deck_id>/next")
@api_login_required
def api_next(deck_id: int):
    """The next due card of the deck (front, back, state, intervals, counts), or 204."""
    card = reviews.next_card(api_user(), deck_id)
    if card is None:
        return Response(status=204)
    return jsonify(card)


api_next.openapi_status = (200, 204)


@api.get("/decks/<int:deck_id>/cards")
def api_cards(deck_id: int):
    """The deck's cards as JSON; shared decks are public (guest practice)."""
    deck, listed = base.deck_cards(api_user(optional=True), deck_id)
    return jsonify(
        deck={"id": deck.id, "title": deck.title, "kind": deck.kind},
        cards=[reviews.card_view(c) for c in listed],
    )


@api.post("/decks/<int:deck_id>/cards")
@api_login_required
def api_add_card(deck_id: int):
    """Add a card (markdown front and back, tags) to one of your decks."""
    body = json_body(CardBody)
    card = cards.add_card(api_user(), deck_id, body.front, body.back, body.tags)
    return jsonify(reviews.card_view(card)), 201


api_add_card.openapi_body = CardBody
api_add_card.openapi_status = 201


@api.get("/decks/<int:deck_id>/cards.csv")
def api_export(deck_id: int):
    """The deck as CSV (front, back, tags) with Anki's import headers."""
    return _csv_response(api_user(optional=True), deck_id)


@api.post("/decks/<int:deck_id>/import")
@api_login_required
def api_import(deck_id: int):
    """Import CSV rows (front, back, tags) into one of your decks: all rows or none."""
    upload = request.files.get("file")
    data = upload.read() if upload is not None else request.get_data()
    count = csv_io.import_csv(api_user(), deck_id, data)  # a refusal lists every bad row
    return jsonify(imported=count), 201


api_import.openapi_body = {"text/csv": {"type": "string"}, "multipart/form-data": CsvUpload}
api_import.openapi_status = 201


@api.post("/cards/<int:card_id>/reviews")
@api_login_required
def api_review(card_id: int):
    """Rate a card (again, hard, good, easy); answers its new FSRS state and due time."""
    body = json_body(ReviewBody)
    return jsonify(reviews.review(api_user(), card_id, body.rating, duration_ms=body.duration_ms))


api_review.openapi_body = ReviewBody


@api.get("/flashcards/stats")
@api_login_required
def api_stats():
    """Reviews per day, true retention and the 30-day due forecast."""
    return jsonify(card_stats.stats(api_user()))


@api.get("/flashcards/settings")
@api_login_required
def api_settings():
    """Your desired retention and new cards per day."""
    return jsonify(reviews.settings_view(api_user()))


@api.post("/flashcards/settings")
@api_login_required
def api_update_settings():
    """Set desired retention (0.80-0.97) and new cards per day."""
    body = json_body(SettingsBody)
    user = api_user()
    reviews.update_settings(user, body.desired_retention, body.new_cards_per_day)
    return jsonify(reviews.settings_view(user))


api_update_settings.openapi_body = SettingsBody


def _csv_response(user, deck_id: int) -> Response:
    body, filename = csv_io.export_deck(user, deck_id)
    return send_attachment(body, filename, "text/csv")


# ---- pages ---------------------------------------------------------------


@bp.get("/flashcards")
def index():
    user = _me()
    if user is None:
        decks = reviews.shared_decks()
        return render_template("flashcards/index.html", decks=None, shared=decks)
    decks, limit = reviews.decks_page(user)
    return render_template("flashcards/index.html", decks=decks, shared=None, limit=limit)


@bp.post("/flashcards/decks")
@login_required
def create_deck():
    try:
        deck = cards.create_deck(_me(), request.form.get("title", ""))
    except base.InvalidInput as exc:
        flash(str(exc), "error")
        return redirect(url_for("flashcards.index"))
    return redirect(url_for("flashcards.deck", deck_id=deck.id))


@bp.get("/flashcards/decks/<int:deck_id>")
@login_required
def deck(deck_id: int):
    found, listed = base.deck_cards(_me(), deck_id)
    return render_template(
        "flashcards/deck.html",
        deck=found,
        cards=listed[:CARDS_SHOWN],
        total=len(listed),
        editable=found.kind == "own",
    )


@bp.post("/flashcards/decks/<int:deck_id>/cards")
@login_required
def add_card(deck_id: int):
    form = request.form
    try:
        cards.add_card(
            _me(), deck_id, form.get("front", ""), form.get("back", ""), form.get("tags", "")
        )
        flash("Card added.", "ok")
    except base.InvalidInput as exc:
        flash(f"Not added: {exc}", "error")
    return redirect(url_for("flashcards.deck", deck_id=deck_id) + "#add")


@bp.route("/flashcards/cards/<int:card_id>/edit", methods=["GET", "POST"])
@login_required
def edit_card(card_id: int):
    card = cards.own_card(_me(), card_id)
    if request.method == "POST":
        form = request.form
        try:
            cards.edit_card(
                _me(), card_id, form.get("front", ""), form.get("back", ""), form.get("tags", "")
            )
        except base.InvalidInput as exc:
            flash(str(exc), "error")
            return render_template("flashcards/edit.html", card=card), 400
        flash("Card saved.", "ok")
        return redirect(url_for("flashcards.deck", deck_id=card.deck_id))
    return render_template("flashcards/edit.html", card=card)


@bp.post("/flashcards/cards/<int:card_id>/delete")
@login_required
def delete_card(card_id: int):
    deck_id = cards.delete_card(_me(), card_id)
    flash("Card deleted.", "ok")
    return redirect(url_for("flashcards.deck", deck_id=deck_id))


@bp.post("/flashcards/decks/<int:deck_id>/import")
@login_required
def import_csv(deck_id: int):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Choose a CSV file to import.", "error")
        return redirect(url_for("flashcards.deck", deck_id=deck_id))
    try:
        count = csv_io.import_csv(_me(), deck_id, upload.read())
    except csv_io.CsvImportError as exc:
        found, listed = base.deck_cards(_me(), deck_id)
        return render_template(
            "flashcards/deck.html",
            deck=found,
            cards=listed[:CARDS_SHOWN],
            total=len(listed),
            editable=True,
            import_errors=exc.errors,
        ), 400
    flash(f"Imported {count} cards.", "ok")
    return redirect(url_for("flashcards.deck", deck_id=deck_id))


@bp.get("/flashcards/decks/<int:deck_id>/export.csv")
def export_csv(deck_id: int):
    return _csv_response(_me(), deck_id)


@bp.get("/flashcards/decks/<int:deck_id>/study")
@login_required
def study(deck_id: int):
    user = _me()
    found = base.get_deck(user, deck_id)
    limit = reviews.new_card_limit(user, [found])
    return render_template("flashcards/study.html", deck=found, guest=False, limit=limit)


@bp.get("/flashcards/practice/<int:deck_id>")
def practice(deck_id: int):
    """Guest practice: the page fetches the public cards and schedules in localStorage."""
    found = base.get_deck(None, deck_id)
    return render_template("flashcards/study.html", deck=found, guest=True)


@bp.get("/flashcards/stats")
@login_required
def stats():
    return render_template("flashcards/stats.html", stats=card_stats.stats(_me()))


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
            return render_template("flashcards/settings.html", s=reviews.settings_view(user)), 400
        try:
            reviews.update_settings(user, retention, per_day)
        except base.InvalidInput as exc:
            flash(str(exc), "error")
            return render_template("flashcards/settings.html", s=reviews.settings_view(user)), 400
        flash("Settings saved.", "ok")
        return redirect(url_for("flashcards.settings"))
    return render_template("flashcards/settings.html", s=reviews.settings_view(user))
