"""What the games services share: errors, finding games and players, events to the host.

Split from service.py (the area's public face) so the host's actions (host)
and the players' (play) can both use it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.extensions import db
from server.models.game import Game, Player
from server.services.errors import StatusError
from server.services.games import names, views
from server.services.games.banks import bank_for
from server.services.games.timers import Coalescer
from server.services.live import channels, publish

LOBBY_EVERY_S = 0.5
ANSWERS_EVERY_S = 0.25
PROGRESS_EVERY_S = 0.5

coalesce = Coalescer()


class GameError(StatusError):
    """A request the game cannot take; the app's one handler answers {"error": code, "message"}."""


# ---- finding games and players ------------------------------------------------


def live_game(pin: str) -> Game | None:
    if not names.is_pin(pin):
        return None
    return db.session.scalar(select(Game).where(Game.live_pin == pin))


def latest_game(pin: str) -> Game | None:
    """The live game with this PIN, else the latest ended one (PINs are reused), else None."""
    return live_game(pin) or db.session.scalar(
        select(Game).where(Game.pin == pin).order_by(Game.id.desc()).limit(1)
    )


def find_game(pin: str, game_id: int | None = None) -> Game:
    """The live game with this PIN, else the latest ended one (for podiums and reports)."""
    game = None
    if game_id is not None:
        game = db.session.get(Game, game_id)
        game = game if game is not None and game.pin == pin else None
    else:
        game = latest_game(pin)
    if game is None:
        raise GameError(404, "no_game", f"No game with PIN {pin}; check the PIN on the big screen.")
    return game


def require_live(pin: str) -> Game:
    game = live_game(pin)
    if game is None:
        ended = names.is_pin(pin) and db.session.scalar(
            select(Game.id).where(Game.pin == pin).limit(1)
        )
        if ended:
            raise GameError(409, "ended", "This game has ended.")
        raise GameError(404, "no_game", f"No game with PIN {pin}; check the PIN on the big screen.")
    return game


def player_by_token(game: Game, token: str | None) -> Player | None:
    if not token:
        return None
    player = db.session.scalar(select(Player).where(Player.token_hash == names.token_hash(token)))
    return player if player is not None and player.game_id == game.id else None


def active_player(game: Game, token: str | None) -> Player:
    player = player_by_token(game, token)
    if player is None:
        raise GameError(403, "bad_token", "That player token is not in this game; join again.")
    if player.kicked:
        raise GameError(403, "kicked", "The host removed you from this game.")
    return player


def is_host_token(game: Game, token: str | None) -> bool:
    return bool(token) and names.token_hash(token) == game.host_token_hash


def broadcast(
    game_id: int, type_: str, data: dict[str, Any], host_extra: dict[str, Any] | None = None
) -> None:
    """Players get `data` (each their own entry of `results`); the host gets the rest and extras."""
    publish(channels.game(game_id), type_, data)
    host = {k: v for k, v in data.items() if k != "results"}
    publish(channels.game_host(game_id), type_, {**host, **(host_extra or {})})


def fresh(game_id: int) -> Game:
    db.session.expire_all()
    game = db.session.get(Game, game_id)
    assert game is not None
    return game


def maybe(game_id: int) -> Game | None:
    """The game as now in the database, for timers that may outlive it."""
    db.session.expire_all()
    return db.session.get(Game, game_id)


def question_count(game: Game) -> int:
    return len(bank_for(game.quiz_id).questions)


# ---- host notifications -----------------------------------------------------------------


def lobby_changed(game_id: int) -> None:
    coalesce.request(f"lobby:{game_id}", lambda: _publish_lobby(game_id), LOBBY_EVERY_S)


def _publish_lobby(game_id: int) -> None:
    game = maybe(game_id)
    if game is None:
        return
    board = views.standings(game_id)
    publish(
        channels.game_host(game_id),
        "lobby",
        {
            "seq": game.seq,
            "players": [{"id": r["player_id"], "nickname": r["nickname"]} for r in board],
            "player_count": len(board),
        },
    )


def progress_changed(game_id: int) -> None:
    coalesce.request(f"progress:{game_id}", lambda: _publish_progress(game_id), PROGRESS_EVERY_S)


def _publish_progress(game_id: int) -> None:
    game = maybe(game_id)
    if game is None:
        return
    publish(
        channels.game_host(game_id),
        "progress",
        {"seq": game.seq, "progress": views.progress(game)},
    )
