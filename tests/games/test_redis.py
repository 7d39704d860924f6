"""Several web processes, one game: events travel over the bus's Redis stream (REDIS_URL)."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, ApiClient
from tests.games.conftest import Play
from tests.sse import Stream

REDIS_URL = "redis://127.0.0.1:6379/14"  # a database of its own, emptied first

pytestmark = pytest.mark.redis


@pytest.fixture
def two_instances(make_app, make_user, bank_dir):
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    config = dict(REDIS_URL=REDIS_URL, GAME_TIMERS=False, GAME_COALESCE_S=0)
    first, second = make_app(**config), make_app(**config)
    from server.services.games import banks

    with first.app_context():
        banks.seed_quizzes(compute=False, log=lambda *_: None, folder=bank_dir)
    make_user("host", role="instructor")
    return first, second


def test_a_player_on_one_instance_follows_a_host_on_another(two_instances):
    from tests.browser_support import live_server

    instance_a, instance_b = two_instances
    client_b = instance_b.test_client()
    token = client_b.post("/api/auth/token", json={"username": "host", "password": PASSWORD})
    host_b = ApiClient(client_b, token.get_json()["token"])
    pin = host_b.post("/api/games", json={"quiz": "mini-game", "mode": "host"}).get_json()["pin"]
    on_b = Play(instance_b, client_b, host_b, pin)
    on_a = Play(instance_a, instance_a.test_client(), host_b, pin)
    ann, bob = on_a.player("Ann"), on_b.player("Bob")

    with live_server(instance_a) as base_a, live_server(instance_b) as base_b:
        player = Stream.http(base_a, f"/api/games/{pin}/events?token={ann['player_token']}")
        auth = {"Authorization": f"Bearer {host_b.token}"}  # the host's own login, no token
        host = Stream.http(base_b, f"/api/games/{pin}/events", headers=auth)
        try:
            assert player.next("state").data["phase"] == "lobby"
            assert host.next("state").data["player_count"] == 2
            on_b.act("start")  # the host acts on B...
            q = player.next("question")  # ...and the player on A gets the question
            assert q.data["question"]["id"] == "tokenize" and "-" in q.id  # a Redis stream id
            on_a.answer(ann, "tokenize", "a")  # an answer taken by A...
            counter = host.next("answers")  # ...counts on the host's screen served by B
            assert (counter.data["answered"], counter.data["total"]) == (1, 2)
            on_b.answer(bob, "tokenize", "b")
            reveal = player.next("reveal")
            assert reveal.data["me"]["correct"] is True and reveal.data["me"]["rank"] == 1
            on_b.act("end")
            assert player.next("ended").data["me"]["rank"] == 1
        finally:
            player.close()
            host.close()
