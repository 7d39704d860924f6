"""The WSGI entry point gunicorn serves."""

import gc

from server import create_app
from server.warmup import warm

app = create_app()
# Templates, guest pages, password checks and the notebook renderer, once, before serving:
# the first visitor of each page after a start no longer pays 0.3-1.5 s for them.
warm(app)

# Full collections stalled the gevent worker for 150-300 ms under 1,000 players; freezing
# the start-up objects and collecting less often kept answer p99 under 100 ms.
gc.collect()
gc.freeze()
gc.set_threshold(50_000, 20, 100)
