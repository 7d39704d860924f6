"""The grading worker: Huey consumers for the CPU queue and, on GPU machines, the GPU queue."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time

from server.extensions import huey, huey_gpu

# Poll the SQLite queue often: a typed answer is graded in a worker only when its
# reference value is new, and the member is waiting for it.
_CONSUMER = dict(
    worker_type="thread", initial_delay=0.05, backoff=1.2, max_delay=0.5, check_worker_health=True
)


def _consume(queue, workers: int, periodic: bool, app=None) -> None:
    """Consume in this process; a forked side process builds its own app (no shared pool).

    Every consuming process renews the leases of the jobs it runs (monitor.LeaseKeeper).
    """
    from server import create_app, jobs  # importing jobs registers the tasks
    from server.services.grading.monitor import LeaseKeeper

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = app if app is not None else create_app()
    jobs.use_app(app)
    LeaseKeeper(app).start()
    consumer = queue.create_consumer(workers=workers, periodic=periodic, **_CONSUMER)
    consumer.run()


def _consume_beside(parent: int, queue, workers: int) -> None:
    """The GPU-fallback side process: it ends when the worker that started it is gone
    (killed with SIGKILL, it cannot say so), instead of consuming on as an orphan."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        logging.getLogger("adventures.worker").error(
            "the worker process %d is gone; its GPU-fallback consumer stops", parent
        )
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()
    _consume(queue, workers, False)


# A notebook shaped like an executed exercise (markdown, code with a stream and a result),
# rendered once at start: the first graded notebook then skips compiling nbconvert's templates.
_NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    "cells": [
        {"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# Warm-up\n*text*"},
        {
            "cell_type": "code",
            "id": "c",
            "metadata": {},
            "execution_count": 1,
            "source": "print(1)\n1 + 1",
            "outputs": [
                {"output_type": "stream", "name": "stdout", "text": "1\n"},
                {
                    "output_type": "execute_result",
                    "execution_count": 1,
                    "metadata": {},
                    "data": {"text/plain": "2", "text/html": "<b>2</b>"},
                },
            ],
        },
    ],
}


def _start_warming_renderer() -> None:
    """Called after the GPU-fallback side process is forked: a fork while this thread imports
    nbconvert would leave the child a module lock that no thread of its own ever releases."""
    threading.Thread(target=_warm_renderer, daemon=True, name="warm-renderer").start()


def _warm_renderer() -> None:
    """Render _NOTEBOOK as a graded notebook's HTML is rendered (server.jobs)."""
    import nbformat

    from server.services.grading import rendering

    try:
        rendering.cells_html(nbformat.from_dict(_NOTEBOOK))
    except Exception:  # the first graded notebook renders it anyway, or logs why it cannot
        logging.getLogger("adventures.worker").exception("notebook renderer warm-up failed")


def _warm_reference() -> None:
    from server.services.grading import references

    try:
        references.runner().warm()
    except Exception:  # the first job will start it again and report what is wrong
        logging.getLogger("adventures.worker").exception("reference warm-up failed")


def _watch_sandbox(app) -> None:
    """Start the sandbox now (the first member does not wait); if it cannot start, say so.

    The state goes to the database for the dashboard and exercise pages; while it
    is down notebook jobs stay queued and a thread retries the warm-up.
    """
    from graders.notebook import warm_up
    from server.config import datasets_dir
    from server.services.exercises import EXERCISES_DIR
    from server.services.grading import health
    from server.services.grading.monitor import SandboxMonitor

    monitor = SandboxMonitor(app, lambda: warm_up(EXERCISES_DIR, datasets_root=datasets_dir()))
    health.install(monitor)
    with app.app_context():
        monitor.check_once()
    monitor.start()


def run_worker(*, gpu: bool = False, concurrency: int = 1) -> None:
    """Start consuming; a CPU worker also takes GPU jobs when GPU_FALLBACK_TO_CPU is on."""
    from server import create_app
    from server.services.grading import queue

    app = create_app()
    with app.app_context():
        # What a previous worker on this machine was running when it died is queued again
        # now (its pid is gone), not when its lease runs out.
        queue.requeue_stale(force=True)
    # Import TensorFlow in the reference child now, beside the sandbox start-up: a member's
    # first new variant then waits for one computation, not for the import as well.
    threading.Thread(target=_warm_reference, daemon=True, name="warm-reference").start()
    if not gpu:
        _watch_sandbox(app)
    if gpu:
        from graders.notebook.devices import detect_gpus

        gpus = detect_gpus()
        if not gpus:
            raise SystemExit("adventures worker --gpu: TensorFlow sees no GPU on this machine.")
        _start_warming_renderer()
        # One job per GPU: TensorFlow grabs a whole device per process.
        _consume(huey_gpu, workers=len(gpus), periodic=False, app=app)
        return
    fallback = os.environ.get("GPU_FALLBACK_TO_CPU", "1") != "0"
    side = None
    if fallback:
        side = multiprocessing.Process(
            target=_consume_beside, args=(os.getpid(), huey_gpu, 1), daemon=True
        )
        side.start()
    _start_warming_renderer()
    try:
        _consume(huey, workers=concurrency, periodic=True, app=app)
    finally:
        if side is not None and side.is_alive():
            side.terminate()
