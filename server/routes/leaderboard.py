"""Leaderboard pages (overall, per exercise, per meetup event, per game, projector) and their JSON and SSE views."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    jsonify,
    render_template,
    request,
    url_for,
)
from pydantic import BaseModel, Field

from server.extensions import csrf, db
from server.routes import sse
from server.routes.errors import ApiError
from server.services import exercises as catalog
from server.services.instructor import leaderboard
from server.services.instructor import meetups as instructor_events
from server.services.live import channels

bp = Blueprint("leaderboard", __name__)
api = Blueprint("leaderboard_api", __name__, url_prefix="/api")
csrf.exempt(api)


def with_movement(rows: list[dict[str, Any]], before: dict[Any, int]) -> list[dict[str, Any]]:
    """Add `movement` (places gained since the last frame this client saw; None when new)."""
    out = []
    for row in rows:
        key = row.get("player_id", row.get("user_id"))
        previous = before.get(key)
        out.append({**row, "movement": None if previous is None else previous - row["rank"]})
    return out


def _key_of(row: dict[str, Any]) -> Any:
    return row.get("player_id", row.get("user_id"))


def _or_404(found):
    if found is None:
        raise ApiError(404, "not_found", "No such board; see GET /api/leaderboard/boards.")
    return found


class BoardQuery(BaseModel):
    board: str = Field(
        default="overall", description="overall, exercise:<slug>, event:<id>, game:<id>"
    )
    projector: str | None = Field(default=None, description="1: names only, for a projector")


# ---- API ---------------------------------------------------------------------------


@api.get("/leaderboard")
def api_standings():
    """Overall standings: weighted best exercise scores plus trivia points; ties go to who got there first."""
    return Response(leaderboard.standings_json(), mimetype="application/json")


@api.get("/leaderboard/boards")
def api_boards():
    """The boards there are: overall, each exercise, each meetup event, recent games."""
    return jsonify(_boards())


@api.get("/leaderboard/exercises/<slug>")
def api_exercise(slug: str):
    """One exercise's standings: best score, first to reach it first."""
    exercise = _or_404(None if "\x00" in slug else catalog.get_exercise(slug))
    return jsonify(leaderboard.exercise_standings(exercise))


@api.get("/leaderboard/meetups/<int:event_id>")
def api_meetup(event_id: int):
    """A meetup event's standings: its exercises inside its time window, plus its games."""
    found = _or_404(leaderboard.board(f"event:{event_id}"))
    return jsonify(found[1])


@api.get("/leaderboard/games/<int:game_id>")
def api_game(game_id: int):
    """One game's standings (guests included, by nickname)."""
    return jsonify(_or_404(leaderboard.game_standings(game_id)))


@api.get("/leaderboard/events")
def api_events():
    """Server-Sent Events: 'standings' now and after every change (?board=overall|exercise:<slug>|event:<id>|game:<id>).

    Each row carries `movement`: places gained since the previous frame on this stream.
    """
    key = request.args.get("board", "overall")
    if leaderboard.board(key) is None:
        raise ApiError(404, "not_found", f"No board '{key}'.")
    public = request.args.get("projector") == "1"
    seen: dict[Any, int] = {}

    def frame(rows: list[dict[str, Any]] | None) -> tuple[str, Any]:
        rows = with_movement(rows or [], seen)
        seen.clear()
        seen.update({_key_of(r): r["rank"] for r in rows})
        return "standings", leaderboard.public(rows) if public else rows

    def after(event_id: str) -> tuple[str, Any]:
        out = frame(leaderboard.board_after(key, event_id))
        db.session.close()  # give the connection back while the stream idles
        return out

    return sse.stream(
        channels.LEADERBOARD,
        lambda: frame((leaderboard.board(key) or ("", []))[1]),
        transform=lambda event: after(event.id),
    )


api_events.openapi_query = BoardQuery


# ---- pages -------------------------------------------------------------------------


def _boards() -> dict[str, Any]:
    return {
        "overall": url_for("leaderboard.page"),
        "exercises": [
            {
                "slug": e.slug,
                "title": e.title,
                "url": url_for("leaderboard.exercise_page", slug=e.slug),
            }
            for e in catalog.active_exercises()
        ],
        "meetups": [
            {**e, "url": url_for("leaderboard.meetup_page", event_id=e["id"])}
            for e in instructor_events.list_events()
        ],
        "games": [
            {**g, "url": url_for("leaderboard.game_page", game_id=g["id"])}
            for g in leaderboard.games_played(limit=20)
            if g["phase"] == "ended"
        ],
    }


# Extra columns per kind of board, between the name and the score: (field, heading).
COLUMNS = {
    "overall": [("solved", "Solved"), ("exercises", "Exercises"), ("trivia", "Trivia")],
    "exercise": [("solved", "Solved")],
    "event": [("solved", "Solved"), ("exercises", "Exercises"), ("trivia", "Trivia")],
    "game": [("correct", "Correct")],
}


PAGE_ROWS = 100  # rows drawn on a page (?all=1 draws everyone); the projector shows 15
PROJECTOR_ROWS = 15


def _render(key: str, title: str, rows: list[dict[str, Any]]):
    projector = request.args.get("projector") == "1"
    kind = key.partition(":")[0]
    limit = PROJECTOR_ROWS if projector else 0 if request.args.get("all") == "1" else PAGE_ROWS
    shown = rows[:limit] if limit else rows
    return render_template(
        "leaderboard.html",
        key=key,
        kind=kind,
        title=title,
        rows=leaderboard.public(shown) if projector else shown,
        total=len(rows),
        limit=limit,
        columns=COLUMNS[kind],
        projector=projector,
        boards=None if projector else _boards(),
        weights=leaderboard.weights() if key == "overall" else None,
    )


@bp.get("/leaderboard")
def page():
    return _render("overall", "Overall", leaderboard.standings())


@bp.get("/leaderboard/exercises/<slug>")
def exercise_page(slug: str):
    exercise = None if "\x00" in slug else catalog.get_exercise(slug)
    if exercise is None:
        abort(404, f"No exercise '{slug}'.")
    return _render(f"exercise:{slug}", exercise.title, leaderboard.exercise_standings(exercise))


@bp.get("/leaderboard/meetups/<int:event_id>")
def meetup_page(event_id: int):
    found = leaderboard.board(f"event:{event_id}")
    if found is None:
        abort(404, f"No meetup event {event_id}.")
    return _render(f"event:{event_id}", found[0], found[1])


@bp.get("/leaderboard/games/<int:game_id>")
def game_page(game_id: int):
    found = leaderboard.board(f"game:{game_id}")
    if found is None:
        abort(404, f"No game {game_id}.")
    return _render(f"game:{game_id}", found[0], found[1])
