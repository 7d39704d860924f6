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
    from server.services.exercises import EXERCISES_DIR

    with ReferenceRunner() as runner:
        report = check_catalog(EXERCISES_DIR, runner)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, default=str))
    else:
        click.echo(report.to_text())
    sys.exit(0 if report.ok else 1)


@exercises_group.command("import")
@click.argument("notebook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--slug", required=True, help="The new exercise's slug (folder name).")
@click.option("--force", is_flag=True, help="Overwrite an existing folder's starter and spec.")
def exercises_import(notebook: Path, slug: str, force: bool) -> None:
    """Turn a course-style notebook into exercises/SLUG/starter.ipynb and a spec skeleton."""
    import nbformat
    import yaml

    from graders.notebook.importer import import_notebook
    from server.services.exercises import EXERCISES_DIR

    folder = EXERCISES_DIR / slug
    if folder.exists() and not force:
        raise click.ClickException(f"{folder} exists; pass --force to overwrite.")
    try:
        starter, spec = import_notebook(notebook.read_bytes(), slug)
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(starter, str(folder / "starter.ipynb"))
    (folder / "exercise.yaml").write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    click.echo(
        f"wrote {folder / 'starter.ipynb'} and {folder / 'exercise.yaml'}; fill in the checks"
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
            result = grade_notebook(spec, folder, data, runner=runner)
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


# ---- serving -------------------------------------------------------------


@main.command("worker")
@click.option("--gpu", is_flag=True, help="Take GPU jobs (one at a time per GPU).")
@click.option("--concurrency", "-c", type=int, default=1, show_default=True)
def worker_command(gpu: bool, concurrency: int) -> None:
    """A grading worker only (for extra or GPU machines)."""
    from server.worker import run_worker

    run_worker(gpu=gpu, concurrency=concurrency)


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: $PORT or 5000.")
@click.option("--workers", type=int, default=1, show_default=True, help="Web processes.")
def run_command(host: str, port: int | None, workers: int) -> None:
    """Web server plus one grading worker (what `make run` calls)."""
    port = port or int(os.environ.get("PORT", "5000"))
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
    worker = subprocess.Popen([sys.executable, "-m", "server.cli", "worker"])
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--worker-class",
            "gevent",
            "--worker-connections",
            "4000",
            "--workers",
            str(workers),
            "--bind",
            f"{host}:{port}",
            "--timeout",
            "120",
            "--graceful-timeout",
            "5",
            "--access-logfile",
            "-",
            "server.wsgi:app",
        ]
    )
    click.echo(f"  Adventures is at http://{host}:{port}/  (Ctrl-C stops web server and worker)")

    def stop(*_):
        for proc in (web, worker):
            if proc.poll() is None:
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while web.poll() is None and worker.poll() is None:
            try:
                web.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
    finally:
        stop()
        for proc in (web, worker):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    sys.exit(web.returncode or 0)


if __name__ == "__main__":
    main()
