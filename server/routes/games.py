"""Trivia games: the host's big screen, the players' phones, and the games API.

Routes only parse, check who is asking, call the games services and render;
the rules live in server/services/games/ (service.py is the area's face,
views.py what each viewer sees, report.py and banks.py). Service errors are
StatusErrors, answered by the app's one handler (server/routes/errors.py).
"""

from __future__ import annotations

import json
import os
from typing import Any, Literal
from urllib.parse import urlsplit

import segno
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field

from server.extensions import csrf, db, limiter
from server.models.base import utcnow
from server.models.game import Game
from server.routes import sse
from server.routes.attachments import send_attachment
from server.routes.errors import ApiError, json_body, query_args, validated
from server.routes.guards import (
    api_instructor_required,
    api_login_required,
    api_user,
    instructor_page,
)
from server.routes.hardening import MAX_DB_INT
from server.services.games import banks, names, report, service, views
from server.services.games.core import GameError
from server.services.games.rate import WindowLimit
from server.services.instructor import leaderboard
from server.services.live import channels

bp = Blueprint("games", __name__)
api = Blueprint("games_api", __name__, url_prefix="/api")
csrf.exempt(api)

MAX_ANSWER_JSON = 2000


@api.before_request
def _stamp_arrival() -> None:
    """The server's clock decides lateness and speed: stamp the request as soon as it is routed."""
    g.received_at = utcnow()


def _limit(name: str, default: str):
    def limit() -> str:
        return current_app.config.get(name) or os.environ.get(name) or default

    return limit


def _answer_limit(token: str) -> None:
    """The per-player limit on answers and self-paced moves (see services/games/rate.py)."""
    app = current_app._get_current_object()
    spec = _limit("GAME_ANSWER_RATE_LIMIT", "20 per 10 seconds")()
    limit = app.extensions.get("adventures.answer_limit")
    if limit is None or limit.spec != spec:
        limit = app.extensions["adventures.answer_limit"] = WindowLimit(spec)
    allowed, retry_after = limit.hit(names.token_hash(token))
    if not allowed:
        raise GameError(
            429, "too_many_requests", f"Too many answers ({spec}); wait {retry_after:.0f} s."
        )


# ---- bodies --------------------------------------------------------------------


class NewGame(BaseModel):
    model_config = ConfigDict(strict=True)  # no `false` for a number, no 1 for a flag

    quiz: str = Field(min_length=1, max_length=64, description="a bank's slug (GET /api/quizzes)")
    mode: Literal["host", "self"] = "host"
    streak_bonus: bool = True
    accuracy_first: bool = False
    allow_late_join: bool = True
    window_s: int | None = Field(
        default=None, ge=60, le=7 * 24 * 3600, description="self-paced: minutes to play, in s"
    )


class JoinBody(BaseModel):
    model_config = ConfigDict(strict=True)

    nickname: str = Field(max_length=200)
    player_token: str | None = Field(default=None, max_length=100)


class AnswerBody(BaseModel):
    model_config = ConfigDict(strict=True)

    player_token: str = Field(min_length=1, max_length=100)
    question: str = Field(min_length=1, max_length=40)
    answer: Any = Field(description="a choice id, a list of ids, a string or a number")


class TokenBody(BaseModel):
    model_config = ConfigDict(strict=True)

    player_token: str = Field(min_length=1, max_length=100)


class KickBody(BaseModel):
    model_config = ConfigDict(strict=True)

    player_id: int = Field(ge=1, le=MAX_DB_INT)


class OptionsBody(BaseModel):
    model_config = ConfigDict(strict=True)

    locked: bool | None = None
    allow_late_join: bool | None = None
    streak_bonus: bool | None = None
    accuracy_first: bool | None = None


class ImportBody(BaseModel):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    title: str = Field(min_length=3, max_length=200)
    description: str = Field(default="", max_length=2000)
    csv: str = Field(min_length=1, max_length=1_000_000)


class ImportUpload(BaseModel):
    file: bytes = Field(description="Kahoot's spreadsheet template saved as CSV")
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    title: str = Field(min_length=3, max_length=200)
    description: str = Field(default="", max_length=2000)


class GameQuery(BaseModel):
    game: int | None = Field(
        default=None, ge=1, le=MAX_DB_INT, description="a game id: PINs are reused"
    )
    token: str | None = Field(default=None, description="a player's or the host's token")


class ReportQuery(BaseModel):
    game: int | None = Field(default=None, ge=1, le=MAX_DB_INT)
    format: Literal["json", "csv"] = "json"
    table: Literal["players", "questions"] = "players"


class EventsQuery(BaseModel):
    token: str | None = Field(default=None, description="a player's or the host's token")


class ExportQuery(BaseModel):
    strict: Literal["0", "1"] = Field(
        default="0", description="1: refuse banks with questions Kahoot cannot hold"
    )


# ---- helpers ---------------------------------------------------------------------


def _hosted(pin: str) -> Game:
    """The live game with this PIN, if the caller is the instructor who hosts it."""
    user = api_user()
    game = service.live_game(pin)
    if game is None:
        service.find_game(pin)  # 404 for unknown PINs
        raise GameError(409, "ended", "This game has ended.")
    if game.host_id != user.id:
        raise GameError(403, "not_host", "Only the instructor who hosts this game can do this.")
    return game


def _public_url(endpoint: str, **values: Any) -> str:
    """A link for phones: PUBLIC_URL when set (a proxy, a LAN address), else this request's."""
    base = current_app.config.get("PUBLIC_URL")
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, **values, _external=True)


def _unreachable(url: str) -> bool:
    """True when phones cannot open `url`: it names this machine's loopback."""
    host = (urlsplit(url).hostname or "").lower()
    return host == "localhost" or host.startswith("127.") or host == "::1"


def _host_view(game: Game, *, lists: bool = True) -> dict[str, Any]:
    state = views.host_state(game, lists=lists)
    state["join_url"] = _public_url("games.play_pin", pin=game.pin)
    return state


def _links(game: Game) -> dict[str, str]:
    return {
        "join_url": _public_url("games.play_pin", pin=game.pin),
        "host_url": url_for("games.host_page", pin=game.pin, _external=True),
        "events_url": url_for("games_api.api_events", pin=game.pin, _external=True),
        "state_url": url_for("games_api.api_state", pin=game.pin, _external=True),
    }


def _qr_svg(url: str, scale: int = 6) -> str:
    qr = segno.make(url, error="m")
    return qr.svg_inline(scale=scale, dark="#1d2330", light="#ffffff", border=2, title="Join")


# ---- banks -------------------------------------------------------------------------


@api.get("/quizzes")
def api_quizzes():
    """The trivia banks: [{slug, title, questions, ...}]."""
    return jsonify([banks.quiz_view(q) for q in banks.active_quizzes()])


@api.post("/quizzes")
@api_instructor_required
def api_import_quiz():
    """Import a bank from Kahoot's spreadsheet template as CSV (JSON body, or multipart 'file')."""
    if request.files.get("file") is not None:
        text = request.files["file"].read().decode("utf-8-sig", errors="replace")
        body = validated(ImportBody, {**request.form.to_dict(), "csv": text or " "})
    else:
        body = json_body(ImportBody)
    quiz = banks.import_csv(
        body.csv,
        slug=body.slug,
        title=body.title,
        description=body.description,
        user_id=api_user().id,
    )
    return jsonify(banks.quiz_view(quiz)), 201


api_import_quiz.openapi_body = {"application/json": ImportBody, "multipart/form-data": ImportUpload}
api_import_quiz.openapi_status = 201


@api.get("/quizzes/<slug>/kahoot.csv")
@api_instructor_required
def api_export_quiz(slug: str):
    """A bank in Kahoot's template layout; ?strict=1 refuses banks with questions it cannot hold."""
    quiz = banks.quiz_by_slug(slug)
    if quiz is None:
        raise GameError(404, "no_quiz", f"No trivia bank '{slug}'.")
    text, skipped = banks.export_csv(quiz, strict=request.args.get("strict") == "1")
    response = send_attachment(text, f"{slug}-kahoot.csv", "text/csv")
    response.headers["X-Skipped-Questions"] = ",".join(skipped)
    return response


api_export_quiz.openapi_query = ExportQuery


# ---- games API -----------------------------------------------------------------------


@api.get("/games")
@api_instructor_required
def api_history():
    """Recent games, newest first (instructors)."""
    return jsonify(service.history())


@api.post("/games")
@api_instructor_required
def api_create():
    """Create a game from a bank: {quiz, mode: host|self} -> {pin, ...}."""
    body = json_body(NewGame)
    game, token = service.create_game(
        api_user().id,
        body.quiz,
        body.mode,
        streak_bonus=body.streak_bonus,
        accuracy_first=body.accuracy_first,
        allow_late_join=body.allow_late_join,
        window_s=body.window_s,
    )
    return jsonify(
        pin=game.pin,
        game_id=game.id,
        mode=game.mode,
        quiz=body.quiz,
        phase=game.phase,
        host_token=token,
        **_links(game),
    ), 201


api_create.openapi_body = NewGame
api_create.openapi_status = 201


@api.post("/games/<pin>/join")
@limiter.limit(_limit("GAME_JOIN_RATE_LIMIT", "6000 per minute;200 per second"))
def api_join(pin: str):
    """Join with a nickname -> {player_id, player_token}; keep the token to answer and reconnect."""
    body = json_body(JoinBody)
    user = api_user(optional=True)
    joined = service.join(
        pin,
        body.nickname,
        user_id=user.id if user else None,
        previous_token=body.player_token,
        address=request.remote_addr or "",
    )
    return jsonify(
        player_id=joined.player_id, player_token=joined.token, nickname=joined.nickname
    ), 201


api_join.openapi_body = JoinBody
api_join.openapi_status = 201


@api.post("/games/<pin>/answers")
def api_answer(pin: str):
    """Answer the open question: {player_token, question, answer} -> {accepted: true}."""
    body = json_body(AnswerBody)
    _answer_limit(body.player_token)
    if body.answer is None:
        raise GameError(
            422, "bad_answer", "answer: give a choice id, a list, a string or a number."
        )
    if len(json.dumps(body.answer)) > MAX_ANSWER_JSON:
        raise GameError(422, "bad_answer", "answer: too long.")
    return jsonify(
        service.answer(pin, body.player_token, body.question, body.answer, g.received_at)
    )


api_answer.openapi_body = AnswerBody


@api.post("/games/<pin>/advance")
def api_advance(pin: str):
    """Self-paced: open my next question (an unanswered one counts as missed) -> my state."""
    body = json_body(TokenBody)
    _answer_limit(body.player_token)
    return jsonify(service.advance(pin, body.player_token))


api_advance.openapi_body = TokenBody


def _host_action(name: str, action, doc: str) -> None:
    def view(pin: str):
        game = service.settle_due(_hosted(pin))
        return jsonify(_host_view(action(game), lists=False))

    view.__name__ = f"api_{name}"
    view.__doc__ = doc
    view.openapi_auth = "instructor"  # the instructor who hosts the game
    api.add_url_rule(f"/games/<pin>/{name}", view.__name__, view, methods=["POST"])


_host_action("start", service.start, "Start the game (instructor who hosts it).")
_host_action(
    "next", service.next_step, "Move on: question -> reveal -> standings -> next question."
)
_host_action("reveal", service.reveal, "Close the open question and reveal its answer.")
_host_action("skip", service.skip, "Drop the open question unscored and open the next one.")
_host_action("end", service.end, "End the game: podium and final standings.")
_host_action("lock", lambda game: service.set_options(game, locked=True), "Lock: no more joins.")
_host_action("unlock", lambda game: service.set_options(game, locked=False), "Unlock joining.")


@api.post("/games/<pin>/kick")
def api_kick(pin: str):
    """Remove a player {player_id}; their token stops working (instructor who hosts it)."""
    game = _hosted(pin)
    body = json_body(KickBody)
    service.kick(game, body.player_id)
    return jsonify(_host_view(service.fresh(game.id)))


api_kick.openapi_body = KickBody
api_kick.openapi_auth = "instructor"


@api.post("/games/<pin>/options")
def api_options(pin: str):
    """Set {locked, allow_late_join, streak_bonus, accuracy_first} (scoring ones in the lobby)."""
    game = _hosted(pin)
    body = json_body(OptionsBody)
    return jsonify(_host_view(service.set_options(game, **body.model_dump())))


api_options.openapi_body = OptionsBody
api_options.openapi_auth = "instructor"


@api.get("/games/<pin>/state")
def api_state(pin: str):
    """{phase, question: {id, kind, text, choices}, players, scores}; ?token= adds `me`."""
    query = query_args(GameQuery)
    game = service.settle_due(service.find_game(pin, query.game))
    token = query.token
    user = api_user(optional=True)
    if service.is_host_token(game, token) or (user is not None and user.id == game.host_id):
        state = views.public_state(game)
        state.update(_host_view(game))
        return jsonify(state)
    player = service.player_by_token(game, token)
    if player is not None and player.kicked:
        return jsonify({**views.public_state(game), "kicked": True})
    return jsonify(views.public_state(game, player=player))


api_state.openapi_query = GameQuery


@api.get("/games/<pin>/events")
def api_events(pin: str):
    """Server-Sent Events for a player (?token=player_token) or the host (host token or session)."""
    user = api_user(optional=True)
    game_id, player_id = service.stream_viewer(
        pin, request.args.get("token"), user.id if user else None
    )
    db.session.close()  # no connection held while the response starts
    if player_id is not None:
        return _player_stream(game_id, player_id)
    return _host_stream(game_id)


api_events.openapi_query = EventsQuery


def _ends(kind: str, data: Any) -> bool:
    return kind in ("ended", "kicked") or (kind == "state" and data.get("phase") == "ended")


def _player_stream(game_id: int, player_id: int) -> Response:
    events = views.PlayerFilter(player_id)

    def snapshot():  # sse.stream hands the connection back before writing the frame
        state = service.player_snapshot(game_id, player_id)
        events.floor = state["seq"]
        return "state", state

    return sse.stream(channels.game(game_id), snapshot, transform=events, until=_ends)


def _host_stream(game_id: int) -> Response:
    events = views.HostFilter()

    def snapshot():
        state = _host_view(service.host_snapshot(game_id))
        events.floor = state["seq"]
        return "state", state

    return sse.stream(channels.game_host(game_id), snapshot, transform=events, until=_ends)


@api.get("/games/<pin>/report")
def api_report(pin: str):
    """Per-question and per-player results; ?format=csv (&table=players|questions)."""
    user = api_user()
    game = service.find_game(pin, query_args(ReportQuery).game)
    if not (user.is_instructor or user.id == game.host_id):
        raise ApiError(403, "forbidden", "Only instructors can read game reports.")
    results = report.build_report(game)
    if request.args.get("format") == "csv":
        table = "questions" if request.args.get("table") == "questions" else "players"
        name = f"game-{game.pin}-{game.id}-{table}.csv"
        return send_attachment(report.report_csv(results, table), name, "text/csv")
    return jsonify(results)


api_report.openapi_query = ReportQuery
api_report.openapi_auth = "instructor"


@api.get("/games/<pin>/qr.svg")
def api_qr(pin: str):
    """The join link as a QR code (SVG)."""
    game = service.find_game(pin)
    url = _public_url("games.play_pin", pin=game.pin)
    return Response(segno.make(url, error="m").svg_inline(scale=8), mimetype="image/svg+xml")


# ---- pages ---------------------------------------------------------------------------


@bp.get("/play")
def play():
    """Enter a PIN and a nickname."""
    pin = request.args.get("pin", "")
    return render_template("games/join.html", pin=pin if names.is_pin(pin) else "")


@bp.get("/play/<pin>")
def play_pin(pin: str):
    """The player's phone screen (the join link and QR code lead here)."""
    if not names.is_pin(pin):
        abort(404, "A game PIN has 6 digits.")
    game = service.latest_game(pin)
    if game is None:
        flash(f"No game with PIN {pin} is open. Check the PIN on the big screen.", "error")
        return redirect(url_for("games.play"))
    bank = banks.bank_for(game.quiz_id)
    return render_template("games/player.html", pin=pin, title=bank.title, mode=game.mode)


@bp.route("/games/new", methods=["GET", "POST"])
@instructor_page
def new_game():
    """Pick a bank and a mode; import or export banks as Kahoot CSV."""
    if request.method == "POST":
        form = request.form
        window = form.get("window_min", type=int)
        try:
            game, _ = service.create_game(
                current_user.id,
                form.get("quiz", ""),
                form.get("mode", "host"),
                streak_bonus=form.get("streak_bonus") == "on",
                accuracy_first=form.get("accuracy_first") == "on",
                allow_late_join=form.get("allow_late_join") == "on",
                window_s=max(1, min(window, 7 * 24 * 60)) * 60 if window else None,
            )
        except GameError as exc:  # back to the form with the reason, not an error page
            flash(exc.message, "error")
            return redirect(url_for("games.new_game"))
        return redirect(url_for("games.host_page", pin=game.pin))
    quizzes = banks.active_quizzes()
    fits = {q.slug: banks.kahoot_fit(q) for q in quizzes}
    return render_template("games/new.html", quizzes=quizzes, fits=fits)


@bp.post("/games/banks")
@instructor_page
def import_bank():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Choose a CSV file (Kahoot's template, saved as CSV).", "error")
        return redirect(url_for("games.new_game"))
    try:
        quiz = banks.import_csv(
            upload.read().decode("utf-8-sig", errors="replace"),
            slug=request.form.get("slug", "").strip(),
            title=request.form.get("title", "").strip(),
            user_id=current_user.id,
        )
    except banks.QuizError as exc:  # back to the form with the reason, not an error page
        flash(exc.message, "error")
        return redirect(url_for("games.new_game"))
    flash(f"Imported '{quiz.title}' ({quiz.question_count} questions).", "ok")
    return redirect(url_for("games.new_game"))


@bp.get("/games/<pin>/host")
@instructor_page
def host_page(pin: str):
    """The big screen: lobby with PIN and QR code, questions, reveals, leaderboard, podium."""
    game = service.latest_game(pin)
    if game is None or game.live_pin is None:  # ended (or never played): its report, if theirs
        if game is not None and game.host_id == current_user.id:
            return redirect(url_for("games.report_page", game_id=game.id))
        abort(404, f"No live game with PIN {pin}.")
    if game.host_id != current_user.id:
        abort(403, "Only the instructor who hosts this game can open its big screen.")
    join_url = _public_url("games.play_pin", pin=pin)
    bank = banks.bank_for(game.quiz_id)
    return render_template(
        "games/host.html",
        game=game,
        title=bank.title,
        question_count=len(bank.questions),
        join_url=join_url,
        play_url=_public_url("games.play"),
        qr=_qr_svg(join_url),
        unreachable=_unreachable(join_url),
    )


@bp.get("/games")
@instructor_page
def history_page():
    """The one game-history page (/instructor/games leads here): every game, newest first,
    with its big screen while live, report, CSV and board."""
    rows = service.history()
    top = {g["id"]: g["top_score"] for g in leaderboard.games_played(limit=len(rows) or 1)}
    for r in rows:
        r["top_score"] = top.get(r["game_id"], 0)
        r["csv_url"] = url_for(
            "games_api.api_report", pin=r["pin"], game=r["game_id"], format="csv"
        )
    return render_template("games/history.html", rows=rows)


@bp.get("/games/history/<int:game_id>")
@instructor_page
def report_page(game_id: int):
    game = service.game_by_id(game_id)
    if game is None:
        abort(404, "No such game.")
    results = report.build_report(game)
    host = service.host_of(game)
    return render_template("games/report.html", game=game, report=results, host=host)


@api.get("/games/missed")
@api_login_required
def api_missed():
    """The caller's questions missed in games, newest first (their flashcards come from these)."""
    return jsonify(
        [
            {**m, "missed_at": m["missed_at"].isoformat()}
            for m in service.missed_questions(api_user().id)
        ]
    )
