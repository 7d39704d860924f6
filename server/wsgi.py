"""The WSGI entry point gunicorn serves (loaded once in its master: server/serve.py)."""

import gc
import os
import threading

from server import create_app
from server.extensions import db
from server.warmup import warm

app = create_app(migrations=False)
# Templates, guest pages and password checks, once, before serving: the first visitor of
# each page after a start no longer pays 0.3-1.5 s for them.
warm(app)

with app.app_context():
    _engines = [*db.engines.values()]
_bus_engine = getattr(app.extensions["adventures.bus"].log, "engine", None)
_engines += [_bus_engine] if _bus_engine is not None else []


def _own_connections() -> None:
    """A forked worker drops the pools it inherited without closing them: a socket or SQLite
    handle the master opened is then never used by two processes at once."""
    for engine in _engines:
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_own_connections)

# Loading the app starts short-lived threads (greenlets once gevent has patched: the rate
# limiter's memory store starts a timer). One still running at the fork would run on in every
# worker, outside threading's bookkeeping there: let them end here first.
for _thread in threading.enumerate():
    if _thread is not threading.main_thread():
        _thread.join(timeout=1.0)

# Full collections stalled the gevent worker for 150-300 ms under 1,000 players; freezing
# the start-up objects and collecting less often kept answer p99 under 100 ms. Frozen before
# the fork, they also stay shared: the collector no longer writes to their pages.
gc.collect()
gc.freeze()
gc.set_threshold(50_000, 20, 100)
