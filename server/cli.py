"""The `adventures` command: web server, workers, database, seeding, accounts, grading."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import click
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate.cli import db as db_group


def _create_app():
    from server import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
def main() -> None:
    """Adventures: trivia nights, notebook grading, leaderboards and flashcards."""


main.add_command(db_group, "db")


@main.command("seed")
@click.option("--no-compute", is_flag=True, help="Skip computing reference values (no TensorFlow).")
@with_appcontext
def seed_command(no_compute: bool) -> None:
    """Load or refresh bundled exercises, trivia banks and decks (idempotent)."""
    from graders.spec import SpecError
    from server.services.seeding import seed_all

    try:
        seed_all(compute=not no_compute, log=click.echo)
    except SpecError as exc:
        raise click.ClickException(str(exc)) from exc


# ---- accounts ------------------------------------------------------------


@main.group("users")
def users_group() -> None:
    """Manage accounts."""


@users_group.command("add")
@click.argument("name")
@click.option("--instructor", is_flag=True, help="Give the account the instructor role.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_add(name: str, instructor: bool, password_stdin: bool) -> None:
    """Create an account NAME."""
    from server.services import accounts

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(name, password, role="instructor" if instructor else "member")
    except accounts.AccountError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"created {user.role} '{user.username}' (id {user.id})")


# ---- exercises -----------------------------------------------------------


@main.group("exercises")
def exercises_group() -> None:
    """Validate and import exercises."""


@exercises_group.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def exercises_check(as_json: bool) -> None:
    """Validate every spec, run every reference solution, print each reference value."""
    from graders.catalog import check_catalog
    from graders.reference import ReferenceRunner
    from server.config import datasets_dir
    from server.services.exercises import EXERCISES_DIR

    with ReferenceRunner() as runner:
        report = check_catalog(EXERCISES_DIR, runner, datasets_root=datasets_dir())
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, default=str))
    else:
        click.echo(report.to_text())
    sys.exit(0 if report.ok else 1)


@exercises_group.command("import")
@click.argument("notebook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--slug", required=True, help="The new exercise's slug (folder name).")
@click.option(
    "--solution",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The solved notebook (markers not needed): NOTEBOOK is then the blank as distributed.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing folder's notebooks and spec.")
@click.option(
    "--ignore-dataset",
    "ignored",
    multiple=True,
    help="A guessed dataset name the notebook does not really need (repeat).",
)
@click.option("--time-limit", type=click.IntRange(5, 1800), default=180, show_default=True)
@click.option("--cell-timeout", type=click.IntRange(1, 1800), default=60, show_default=True)
@with_appcontext
def exercises_import(
    notebook: Path,
    slug: str,
    solution: Path | None,
    force: bool,
    ignored: tuple[str, ...],
    time_limit: int,
    cell_timeout: int,
) -> None:
    """Import a course assignment: a blank (with --solution) or a solved notebook alone.

    Writes exercises/SLUG/starter.ipynb, solution.ipynb and exercise.yaml, whose checks are
    the solution's own calls of the graded functions, recorded by running it once in the
    sandbox. The datasets it reads must be in the store first (`adventures data add`).
    """
    import re

    from graders.notebook import NotebookError
    from graders.notebook.importer import import_exercise, match_store, write_exercise
    from graders.notebook.record import record_checks
    from graders.spec import ExerciseSpec
    from server.services.exercises import EXERCISES_DIR
    from server.services.grading import datasets

    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,63}", slug):
        raise click.ClickException(f"slug {slug!r}: use 2-64 lowercase letters, digits and '-'.")
    folder = EXERCISES_DIR / slug
    if folder.exists() and not force:
        raise click.ClickException(f"{folder} exists; pass --force to overwrite.")
    try:
        imported = import_exercise(
            slug,
            notebook.read_bytes(),
            solution.read_bytes() if solution is not None else None,
            time_limit=time_limit,
            cell_timeout=cell_timeout,
        )
    except NotebookError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    for note in imported.notes:
        click.echo(f"  {note}")
    imported.datasets = [d for d in imported.datasets if d.name not in ignored]
    store = datasets.store()
    for note in match_store(imported.datasets, store.all()):
        click.echo(f"  {note}")
    imported.spec["notebook"]["datasets"] = [d.to_spec() for d in imported.datasets]
    missing = [d for d in imported.datasets if store.get(d.name) is None]
    for d in imported.datasets:
        click.echo(
            f"dataset {d.name}: {'MISSING from the store' if d in missing else 'in the store'}"
        )
    if missing:
        click.echo(
            "error: the solution reads datasets the store does not hold. Add them, then import "
            "again:\n"
            + "".join(f"  {d.add_command()}\n" for d in missing)
            + "(a name that is not a dataset this notebook needs: --ignore-dataset NAME)",
            err=True,
        )
        sys.exit(1)
    click.echo(
        "running the solution once in the sandbox to record "
        + ("the values its cells print ..." if imported.printed else "its calls ...")
    )
    recording = record_checks(imported, folder, datasets_root=datasets.store_root())
    for line in recording.failures:
        click.echo(f"  solution: {line}")
    for note in recording.notes:
        click.echo(f"  {note}")
    if recording.problem or not recording.checks:
        why = recording.problem or (
            "no value the solution prints could be read"
            if imported.printed
            else "the solution's cells never called a graded function"
        )
        click.echo(f"error: no checks recorded: {why}; nothing written.", err=True)
        sys.exit(1)
    spec = imported.spec
    spec["notebook"]["checks"] = recording.checks
    spec["points"] = float(sum(c["points"] for c in recording.checks))
    try:
        ExerciseSpec.model_validate(spec)
    except ValueError as exc:  # pydantic's ValidationError
        click.echo(f"error: the spec would not be valid, nothing written: {exc}", err=True)
        sys.exit(1)
    for path in write_exercise(folder, imported, spec):
        click.echo(f"wrote {path}")
    for check in recording.checks:
        click.echo(f"  check [{check['compare']}] {check['name']}")
    click.echo(
        f"recorded {len(recording.checks)} check(s) in {recording.seconds:.1f} s; next: "
        + (
            "run `adventures exercises check`."
            if imported.printed  # expression checks have no inputs to vary
            else "add hidden checks (see the comment at the end of exercise.yaml), then run "
            "`adventures exercises check`."
        )
    )


@main.command("grade")
@click.argument("notebook", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--exercise", "slug", required=True, help="The exercise slug, e.g. c3w1-tokenizer.")
@click.option("--json", "as_json", is_flag=True, help="Print the result document as JSON.")
def grade_command(notebook: Path, slug: str, as_json: bool) -> None:
    """Grade NOTEBOOK locally with the same sandboxed pipeline: exit 0 full marks, 1 otherwise, 2 bad input."""
    from graders.notebook import NotebookError, grade_notebook
    from graders.reference import ReferenceRunner
    from graders.spec import SpecError, load_spec
    from server.config import datasets_dir
    from server.services.exercises import EXERCISES_DIR

    folder = EXERCISES_DIR / slug
    try:
        spec = load_spec(folder / "exercise.yaml")
    except (SpecError, FileNotFoundError):
        click.echo(f"error: no exercise '{slug}' in {EXERCISES_DIR}", err=True)
        sys.exit(2)
    if spec.notebook is None:
        click.echo(f"error: '{slug}' is a short-answer exercise, not a notebook", err=True)
        sys.exit(2)
    try:
        data = notebook.read_bytes()
    except OSError as exc:
        click.echo(f"error: cannot read {notebook}: {exc.strerror}", err=True)
        sys.exit(2)
    with ReferenceRunner() as runner:
        try:
            result = grade_notebook(spec, folder, data, runner=runner, datasets_root=datasets_dir())
        except NotebookError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
    doc = result.to_dict()
    if as_json:
        click.echo(json.dumps(doc, indent=2))
    else:
        for test in doc["tests"]:
            click.echo(
                f"[{test['status']:>7}] {test['score']:g}/{test['max_score']:g}  {test['name']}"
            )
            if test.get("output") and test["status"] != "passed":
                click.echo("          " + test["output"].replace("\n", "\n          "))
        click.echo(f"score: {doc['score']:g}/{doc['max_score']:g}")
    sys.exit(0 if doc["score"] >= doc["max_score"] - 1e-9 else 1)


# ---- datasets ------------------------------------------------------------


@main.group("data")
def data_group() -> None:
    """The dataset store: files and folders notebooks read or download (offline)."""


def _data_store():
    from server.services.grading import datasets

    return datasets.store()


@data_group.command("add")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--name", help="Dataset name (default: the file or folder name).")
@click.option("--url", "urls", multiple=True, help="A URL notebooks download it from (repeat).")
@click.option(
    "--tfds/--no-tfds",
    default=None,
    help="It is a TFDS data_dir or builder folder (default: detected from dataset_info.json).",
)
@click.option("--unpack", is_flag=True, help="Add a .zip/.tar(.gz) archive's files as a folder.")
@with_appcontext
def data_add(path: Path, name: str | None, urls: tuple[str, ...], tfds, unpack: bool) -> None:
    """Add PATH (a file or a folder) to the store; the same bytes again make no new version."""
    from graders.datasets import DatasetError
    from server.services.grading import datasets

    try:
        result = _data_store().add(path, name=name, urls=urls, tfds=tfds, unpack=unpack)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot read {exc.filename or path}: {exc.strerror}") from exc
    click.echo(result.message)
    ref = result.ref
    if ref.tfds:
        click.echo(f"TFDS data_dir: ./data/{ref.name}/{ref.tfds_dir}".rstrip("/"))
    users = datasets.used_by().get(ref.name, [])
    click.echo(f"used by: {', '.join(users)}" if users else "used by: no exercise lists it yet")
    if users and result.created and ref.version > 1:
        click.echo("run `adventures seed` to record their new exercise version")


@data_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def data_list(as_json: bool) -> None:
    """Every dataset (current version), and the ones exercises list but the store lacks."""
    from graders.datasets import human_size
    from server.services.grading import datasets

    rows = datasets.listing()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"no datasets in {datasets.store_root()}")
    for row in rows:
        users = ", ".join(row["used_by"]) or "-"
        if row["missing"]:
            click.echo(f"MISSING {row['name']}  used by {users}")
            continue
        tfds = " tfds" if row["tfds"] else ""
        click.echo(
            f"{row['name']}  v{row['version']}  {row['kind']}{tfds}  {row['file_count']} file(s)  "
            f"{human_size(row['size'])}  used by {users}"
        )
        for url in row["urls"]:
            click.echo(f"    {url}")


@data_group.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def data_show(name: str, as_json: bool) -> None:
    """One dataset: its files, URLs and every version."""
    from graders.datasets import human_size
    from server.services.grading import datasets

    store = _data_store()
    ref = store.get(name)
    if ref is None:
        raise click.ClickException(
            f"no dataset '{name}' in {store.root}; add it with: adventures data add PATH --name {name}"
        )
    versions = store.versions(name)
    if as_json:
        doc = ref.to_json()
        doc["versions"] = [v.summary() for v in versions]
        doc["used_by"] = datasets.used_by().get(name, [])
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(f"{ref.name} version {ref.version} ({ref.kind}, {human_size(ref.size)})")
    click.echo(f"digest: {ref.digest}")
    click.echo(f"added: {ref.added_at}")
    if ref.tfds:
        click.echo(f"TFDS data_dir: ./data/{ref.name}/{ref.tfds_dir}".rstrip("/"))
    for url in ref.urls:
        click.echo(f"url: {url}")
    click.echo(f"used by: {', '.join(datasets.used_by().get(name, [])) or '-'}")
    for rel, entry in list(ref.files.items())[:50]:
        click.echo(f"  {entry.sha256[:12]}  {human_size(entry.size):>9}  {rel}")
    if len(ref.files) > 50:
        click.echo(f"  ... and {len(ref.files) - 50} more files")
    for v in versions:
        click.echo(f"version {v.version}: {v.added_at}  {human_size(v.size)}  {v.digest[:12]}")


# ---- serving -------------------------------------------------------------


@main.command("worker")
@click.option("--gpu", is_flag=True, help="Take GPU jobs (one at a time per GPU).")
@click.option("--concurrency", "-c", type=int, default=1, show_default=True)
def worker_command(gpu: bool, concurrency: int) -> None:
    """A grading worker only (for extra or GPU machines)."""
    from server.worker import run_worker

    run_worker(gpu=gpu, concurrency=concurrency)


WORKER_RESTART_FIRST_S = 1.0
WORKER_RESTART_MAX_S = 30.0
WORKER_STABLE_S = 60.0  # a worker up this long has recovered: the next restart waits 1 s again


def next_restart_delay(previous: float | None, uptime: float) -> float:
    """Back-off between worker restarts: 1, 2, 4 ... 30 s; from 1 s again after a stable run."""
    if previous is None or uptime >= WORKER_STABLE_S:
        return WORKER_RESTART_FIRST_S
    return min(previous * 2, WORKER_RESTART_MAX_S)


def _how_it_ended(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def _end_group(proc: subprocess.Popen) -> None:
    """Kill what a dead worker left behind in its process group (its GPU-fallback consumer,
    the reference process)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _lan_url(host: str, port: int) -> str | None:
    """With --host 0.0.0.0: http://<this machine's LAN address>:port, for the join link."""
    if host not in ("0.0.0.0", "::"):
        return None
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))  # picks the outgoing interface; sends nothing
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else f"http://{address}:{port}"


WORKER_NICENESS = 5
# A game holds up to 5,000 players' event streams, plus their answers in flight; a full
# worker stops accepting connections, so joins beyond it would hang.
WORKER_CONNECTIONS = 12_000


def _raise_open_files(want: int = 2 * WORKER_CONNECTIONS) -> int:
    """Lift the soft limit on open files towards the hard one: a desktop's default 1,024
    would cap a night at about 1,000 phones. Returns the soft limit now."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def _wait_until_serving(
    web: subprocess.Popen, host: str, port: int, stopped, limit_s: float = 120
) -> bool:
    """Until GET /healthz answers (or the web server exits, stopped() or limit_s passes)."""
    import time
    import urllib.error
    import urllib.request

    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/healthz"
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and web.poll() is None and not stopped():
        try:
            with urllib.request.urlopen(url, timeout=5) as res:
                if res.status < 500:
                    return True
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    return False


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: $PORT or 5000.")
@click.option("--workers", type=int, default=1, show_default=True, help="Web processes.")
@click.option(
    "--public-url",
    default=None,
    help="The address phones use (join link, QR code), e.g. https://trivia.example.org "
    "behind a proxy. Default: $PUBLIC_URL; with --host 0.0.0.0, this machine's LAN address.",
)
@click.option(
    "--access-log/--no-access-log",
    default=None,
    help="Log every request to stdout. Default: $ACCESS_LOG, else off (a line per request "
    "was a twentieth of the web process's time on a 2,000-player night).",
)
def run_command(
    host: str, port: int | None, workers: int, public_url: str | None, access_log: bool | None
) -> None:
    """Web server plus one grading worker (what `make run` calls).

    The worker is supervised: when it dies it is started again (after 1, 2, 4 ... 30 s) while
    the web server keeps serving; what it was grading is queued again by the new worker. When
    the web server dies, everything stops. Ctrl-C or SIGTERM stop both.
    """
    import time

    port = port or int(os.environ.get("PORT", "5000"))
    open_files = _raise_open_files()
    if open_files < 2 * 1000:
        click.echo(
            f"  warning: only {open_files} open files allowed (ulimit -n): a trivia night "
            f"holds about {open_files // 2} phones",
            err=True,
        )
    if access_log is None:
        access_log = os.environ.get("ACCESS_LOG", "").strip().lower() in ("1", "true", "yes", "on")
    public_url = public_url or os.environ.get("PUBLIC_URL") or _lan_url(host, port)
    if public_url:
        os.environ["PUBLIC_URL"] = public_url  # the web processes read it (server.config)
    app = _create_app()
    with app.app_context():
        from server.services import accounts

        created = accounts.ensure_instructor()
    if created:
        click.echo(
            f"\n  First start: instructor account created.\n"
            f"    username: {created[0]}\n    password: {created[1]}\n"
            f"  (shown once; add more with `adventures users add NAME --instructor`)\n"
        )

    def start_worker() -> subprocess.Popen:
        # Its own process group, so what it leaves behind when killed can be ended with it.
        return subprocess.Popen(
            [sys.executable, "-m", "server.cli", "worker"],
            process_group=0,
            preexec_fn=lambda: os.nice(WORKER_NICENESS),
        )

    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server.serve",
            "--preload",
            "--worker-class",
            "gevent",
            "--worker-connections",
            str(WORKER_CONNECTIONS),
            "--workers",
            str(workers),
            "--bind",
            f"{host}:{port}",
            "--timeout",
            "120",
            "--graceful-timeout",
            "5",
            *(["--access-logfile", "-"] if access_log else []),
            "server.wsgi:app",
        ]
    )
    # The address is printed once the web process answers: gunicorn opens the port before
    # its worker has loaded the app, and a first visitor would wait for that (8.9 s seen).
    # The grading worker starts after, at a lower CPU priority: its TensorFlow warm-up
    # used to starve the web worker's start, and a page should not wait on grading.
    worker: subprocess.Popen | None = None
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True
        for proc in (web, worker):
            if proc is not None and proc.poll() is None:
                proc.terminate()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    _wait_until_serving(
        web, "127.0.0.1" if host in ("0.0.0.0", "::", "") else host, port, lambda: stopping
    )
    worker_started = restart_at = time.monotonic()
    click.echo(f"  Adventures is at http://{host}:{port}/  (Ctrl-C stops web server and worker)")
    if public_url:
        click.echo(f"  Players join at {public_url}/play")
    elif host.startswith("127.") or host == "localhost":
        click.echo(
            "  Only this computer can reach it: for a trivia night on this network use "
            "--host 0.0.0.0 (or --public-url behind a proxy)."
        )
    delay: float | None = None
    try:
        while not stopping and web.poll() is None:
            if worker is not None and worker.poll() is not None:
                uptime = time.monotonic() - worker_started
                _end_group(worker)
                delay = next_restart_delay(delay, uptime)
                click.echo(
                    f"adventures run: the grading worker (pid {worker.pid}) "
                    f"{_how_it_ended(worker.returncode)} after {uptime:.0f} s; starting a new "
                    f"one in {delay:g} s (the web server keeps running)",
                    err=True,
                )
                worker, restart_at = None, time.monotonic() + delay
            if worker is None and not stopping and time.monotonic() >= restart_at:
                worker = start_worker()
                worker_started = time.monotonic()
                click.echo(f"adventures run: grading worker started (pid {worker.pid})", err=True)
            try:
                web.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
        if not stopping:
            click.echo(
                f"adventures run: the web server {_how_it_ended(web.returncode)}; "
                "stopping the worker too",
                err=True,
            )
    finally:
        stop()
        for proc in (web, worker):
            if proc is None:
                continue
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if worker is not None:
            _end_group(worker)
    sys.exit(web.returncode or 0)


if __name__ == "__main__":
    main()
