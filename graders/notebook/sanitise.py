"""Sanitising steps, nbgrader-converter style: each takes (notebook, notes), changes one thing.

`notes` collects what a member should be told ("`!pip install ...` not run: the grader
already has TensorFlow"). Steps run in the order of `STEPS`; `sanitise` then applies the
exercise's training mode (skip: top-level `.fit(` statements are not run).

Every rewrite keeps a cell valid Python where it was before: a cell is read as IPython reads
it (leading indent removed, magics masked, see `_python_view`) and each change is checked by
parsing that view.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nbformat import NotebookNode

from graders.notebook.shell_rewrite import join_continuations, translate, translate_script

Step = Callable[[NotebookNode, list[str]], NotebookNode]

GRADE_UP_TO_HERE = re.compile(
    r"^\s*#\s*grade[-_ ]up[-_ ]to[-_ ]here\b", re.IGNORECASE | re.MULTILINE
)

# Cell magics whose whole body runs in a shell or another interpreter.
_SHELL_CELL = re.compile(r"^\s*%%(bash|sh|script|system|sx|perl|ruby|python2|python3|pypy)\b")
# A %%bash / %%sh / %%script bash|sh cell with no options: its body can be read as commands.
_PLAIN_SHELL_CELL = re.compile(r"^\s*%%(?:bash|sh|script[ \t]+(?:bash|sh))[ \t]*$")
# Line-level shell escapes that become Python where they are downloads: `!cmd`, `!!cmd`,
# `x = !cmd`, `%system cmd`, `%sx cmd`.
_BANG_LINE = re.compile(
    r"^(?P<indent>\s*)(?:(?P<target>[\w.,\[\]\s]*\w[\w.,\[\]\s]*?)\s*=\s*)?"
    r"(?:!!?|%(?:sx|system)\b)(?P<cmd>.*)$"
)
# Other lines that need a shell, an installer or Colab: removed with a note.
_SHELL_LINE = re.compile(
    r"^(?P<indent>\s*)(?:!|(?:[\w.,\[\]\s]+=\s*!)"
    r"|%(?:pip|conda|mamba|sx|system|sc|bash|sh|download|tensorflow_version)\b"
    r"|get_ipython\(\)\.(?:system|getoutput)\()"
)
_NETWORK_WORDS = re.compile(r"\b(wget|curl|gdown|kaggle|git\s+clone|http[s]?://)", re.IGNORECASE)
_INSTALL_WORDS = re.compile(r"\b(pip|conda|mamba|apt(-get)?)\b", re.IGNORECASE)

# What IPython would not hand to Python as is: magics, shell escapes, `obj?` help.
_PY_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
_MAGIC_LINE = re.compile(r"^(?P<indent>[ \t]*)(?:[%!?]|[\w.,\[\] \t]+=[ \t]*[!%])")
_TIME_LINE = re.compile(r"^(?P<indent>[ \t]*)%time(?:it)?[ \t]+(?P<stmt>[^-\s].*)$")
_HELP_LINE = re.compile(r"^[ \t]*(?:\?{1,2}[\w.]+|[\w.]+\?{1,2})[ \t]*$")
_MAX_CUTS = 12  # cut points tried for one marker; each costs two parses
_FIT_NAMES = frozenset({"fit", "fit_generator"})
_FIT_TEXT = re.compile(r"\.fit(?:_generator)?\s*\(")
_COMPOUND = (
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.Match,
    *((ast.TryStar,) if hasattr(ast, "TryStar") else ()),
)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def clear_outputs(nb: NotebookNode, notes: list[str]) -> NotebookNode:
    """Outputs and counts from the member's own run are never trusted or shown back."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    return nb


def drop_attachments_and_widgets(nb: NotebookNode, notes: list[str]) -> NotebookNode:
    """Pasted images and saved widget state are bulk the grader never needs."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.pop("attachments", None)
        cell.metadata.pop("widgets", None)
    return nb


def cut_at_grade_up_to_here(nb: NotebookNode, notes: list[str]) -> NotebookNode:
    """The course's `# grade-up-to-here`: nothing from the marker on runs, in or after its cell.

    The marker line and the rest of its cell are cut off. When that leaves an open block
    (`def f():` with the body below the marker) a `pass` closes it; when it leaves half a
    statement (the marker inside brackets) the cut moves back to that statement's start,
    and failing that to the start of the top-level statement holding the marker. A syntax
    error of the member's own before the marker is left for them to see.
    """
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        match = GRADE_UP_TO_HERE.search(cell.source)
        if not match:
            continue
        lines = cell.source.split("\n")
        marker = cell.source[: match.end()].count("\n")
        cell.source, first_cut = _cut_cell(lines, marker)
        dropped_cells = sum(1 for c in nb.cells[index + 1 :] if c.cell_type == "code")
        dropped_lines = [
            i for i in range(first_cut, len(lines)) if i != marker and lines[i].strip()
        ]
        parts = []
        if dropped_lines:
            first, last = dropped_lines[0] + 1, dropped_lines[-1] + 1
            where = f"line {first}" if first == last else f"lines {first}–{last}"
            parts.append(f"{where} of that cell")
        if dropped_cells:
            parts.append(f"the {dropped_cells} code cell(s) after it")
        if parts:
            notes.append(
                f"Cell {index + 1} has `# grade-up-to-here` at line {marker + 1}, so the grader "
                f"did not run {' and '.join(parts)}."
            )
        nb.cells = nb.cells[: index + 1]
        break
    return nb


def rewrite_shell_commands(nb: NotebookNode, notes: list[str]) -> NotebookNode:
    """Shell downloads become calls the kernel shim answers; other shell lines are removed.

    `!wget`/`!curl`/`!mkdir`/`!unzip`/`!tar` (continuation lines joined first) and `%%bash`
    cells made only of those become `__adventures_fetch__(url, dest)` and friends (see
    graders.notebook.shell_rewrite). `!pip`, other programs and anything not read with
    certainty are replaced by `pass` at the same indent, with a note saying why.
    """
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source:
            continue
        if _SHELL_CELL.match(cell.source):
            _rewrite_shell_cell(index, cell, notes)
            continue
        if _python_view(cell.source) is None:
            continue  # %%writefile, %%html, ...: the body is not code the kernel runs
        lines = cell.source.split("\n")
        out: list[str] = []
        changed = False
        i = 0
        while i < len(lines):
            if not _SHELL_LINE.match(lines[i]):
                out.append(lines[i])
                i += 1
                continue
            end = i
            while lines[end].rstrip().endswith("\\") and end + 1 < len(lines):
                end += 1
            out.append(_rewrite_shell_line(index, lines[i : end + 1], notes))
            out.extend([""] * (end - i))  # the same line count: tracebacks still match
            changed = True
            i = end + 1
        if changed:
            cell.source = "\n".join(out)
    return nb


def _rewrite_shell_cell(index: int, cell: NotebookNode, notes: list[str]) -> None:
    head, _, body = cell.source.strip().partition("\n")
    done = translate_script(body) if _PLAIN_SHELL_CELL.match(head) else None
    if done is not None and done.statements:
        cell.source = "\n".join(
            [f"# rewritten by the grader from a {head.strip()} cell", *done.statements]
        )
        notes.append(
            f"Cell {index + 1}: `{head.strip()}` cell ran as Python; {_downloads_note(done)}"
        )
        return
    notes.append(f"Cell {index + 1}: `{head.strip()}` cell not run; {_why(cell.source)}")
    cell.source = f"# removed by the grader: {head.strip()} cell\npass"


def _rewrite_shell_line(index: int, group: list[str], notes: list[str]) -> str:
    """One shell line (with its continuation lines) as one line of Python."""
    joined = join_continuations(group)[0]
    shown = _clip(" ".join(joined.split()))
    bang = _BANG_LINE.match(joined)
    indent = _SHELL_LINE.match(group[0]).group("indent")  # type: ignore[union-attr]
    done = translate(bang.group("cmd"), python_expansion=True) if bang else None
    if done is not None and done.statements:
        code = "; ".join(done.statements)
        if bang and bang.group("target"):
            code += f"; {bang.group('target').strip()} = []"  # the captured output: none
        if done.downloads or done.skipped:
            notes.append(f"Cell {index + 1}: `{shown}` ran as Python; {_downloads_note(done)}")
        return f"{indent}{code}"
    notes.append(f"Cell {index + 1}: removed `{shown}`; {_why(joined)}")
    return f"{indent}pass  # removed by the grader: {_clip(joined.strip(), 60)}"


def _downloads_note(done: Any) -> str:
    said = []
    if done.downloads:
        said.append(
            "downloads are answered from the course data the instructor added "
            "(the grader has no network)"
        )
    if done.skipped:
        said.append("not run: " + ", ".join(f"`{_clip(s, 40)}`" for s in done.skipped))
    return "; ".join(said) + "."


def _why(text: str) -> str:
    if _NETWORK_WORDS.search(text):
        return (
            "the grader has no network; plain wget and curl downloads are answered from the "
            "course data the instructor added, and this command is not one of them."
        )
    if _INSTALL_WORDS.search(text):
        return "the grader already has TensorFlow, Keras and NumPy installed."
    if "tensorflow_version" in text:
        return "that magic exists only in Colab; the grader already has TensorFlow 2."
    return "the grader runs no shell commands."


def _clip(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ----------------------------------------------------------------------------- python view


@dataclass
class _View:
    """A cell as Python sees it after IPython's rewriting, line for line with the source.

    lines: the Python text; offset: characters IPython's leading-indent removal took from
    each source line; exact: False where a magic was masked (columns there do not map).
    """

    lines: list[str]
    offset: list[int]
    exact: list[bool]


def _python_view(source: str) -> _View | None:
    """The cell as IPython hands it to Python, same line numbers; None if not Python at all."""
    lines = source.split("\n")
    first = next((line for line in lines if line.strip()), "")
    prefix = first[: len(first) - len(first.lstrip())]
    offset = [len(prefix) if prefix and line.startswith(prefix) else 0 for line in lines]
    view = [line[n:] for line, n in zip(lines, offset, strict=True)]
    exact = [True] * len(view)
    start = 0
    if view and view[0].startswith("%%"):
        if (view[0][2:].split() or [""])[0] not in _PY_CELL_MAGICS:
            return None
        view[0], exact[0], start = "", False, 1
    continued: str | None = None  # the indent of a magic line continued with a backslash
    for i in range(start, len(view)):
        line = view[i]
        if continued is not None:
            view[i] = continued + "pass"
        elif time_line := _TIME_LINE.match(line):
            view[i] = time_line.group("indent") + time_line.group("stmt")
        elif _MAGIC_LINE.match(line) or _HELP_LINE.match(line):
            view[i] = _indent_of(line) + "pass"
        else:
            continue
        exact[i] = False
        if not line.rstrip().endswith("\\"):
            continued = None
        elif continued is None:
            continued = _indent_of(line)
    return _View(view, offset, exact)


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _parse(lines: list[str]) -> ast.Module | SyntaxError:
    try:
        return ast.parse("\n".join(lines))
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:  # NUL byte, depth
        return exc if isinstance(exc, SyntaxError) else SyntaxError(type(exc).__name__)


def _parses(lines: list[str]) -> bool:
    return not isinstance(_parse(lines), SyntaxError)


# ------------------------------------------------------------------------ grade-up-to-here


def _cut_cell(lines: list[str], marker: int) -> tuple[str, int]:
    """(source up to the marker, still valid Python; index of the first source line cut)."""
    view = _python_view("\n".join(lines))
    if view is None or _parses(view.lines[:marker]):
        return "\n".join(lines[:marker]), marker
    whole = _parse(view.lines)
    if isinstance(whole, SyntaxError) and whole.lineno is not None and whole.lineno <= marker:
        return "\n".join(lines[:marker]), marker  # the member's own error: theirs to see
    for cut in _cut_candidates(view.lines[:marker], marker):
        if _parses(view.lines[:cut]):
            return "\n".join(lines[:cut]), cut
        for indent in _pass_indents(view.lines[:cut]):
            if _parses([*view.lines[:cut], indent + "pass"]):
                closing = f"{_first_prefix(lines, view)}{indent}pass  # grade-up-to-here"
                return "\n".join([*lines[:cut], closing]), cut
    return "\n".join(lines[:marker]), marker


def _first_prefix(lines: list[str], view: _View) -> str:
    """The indent IPython strips from every line (a cell indented as a whole)."""
    for line, n in zip(lines, view.offset, strict=True):
        if n:
            return line[:n]
    return ""


def _cut_candidates(head: list[str], marker: int) -> list[int]:
    """Where to cut, best first: the marker, the start of a statement it splits, top level."""
    starts: list[tuple[int, int]] = []
    unfinished: int | None = None
    at_start = True
    try:
        for tok in tokenize.generate_tokens(io.StringIO("\n".join(head) + "\n").readline):
            if tok.type == tokenize.NEWLINE:
                at_start = True
            elif tok.type in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
                continue
            elif tok.type != tokenize.ENDMARKER and at_start:
                starts.append((tok.start[0] - 1, tok.start[1]))
                at_start = False
    except (tokenize.TokenError, SyntaxError):
        if starts and not at_start:
            unfinished = starts[-1][0]
    out = [marker]
    if unfinished is not None:
        out.append(unfinished)
    out.extend(sorted({row for row, col in starts if col == 0}, reverse=True))
    seen: set[int] = set()
    return [c for c in out if not (c in seen or seen.add(c))][:_MAX_CUTS]


def _pass_indents(head: list[str]) -> list[str]:
    """Indents at which a `pass` may close the block left open by a cut."""
    for line in reversed(head):
        if line.strip() and not line.strip().startswith("#"):
            indent = _indent_of(line)
            step = "\t" if indent.startswith("\t") else "    "
            return [indent + step, indent]
    return [""]


# -------------------------------------------------------------------------------- training


def normalise_training(training: Any) -> str | int:
    """ "skip", "full" or an epoch cap (int) from a spec value: str, int, {cap: N}, TrainingCap."""
    if isinstance(training, str) and training in ("skip", "full"):
        return training
    cap = training
    if isinstance(training, Mapping):
        cap = training.get("cap")
    elif hasattr(training, "cap"):
        cap = training.cap
    if isinstance(cap, int) and not isinstance(cap, bool) and cap >= 1:
        return cap
    raise ValueError(f"training must be 'skip', 'full' or an epoch cap >= 1, not {training!r}")


def apply_training(nb: NotebookNode, notes: list[str], training: Any = "full") -> NotebookNode:
    """The exercise's training mode: skip removes top-level `.fit(`, a cap only says so.

    The cap itself is applied by the kernel shim (every fit() call, in functions too), so
    here it is only the note, and only when the notebook trains.
    """
    mode = normalise_training(training)
    if mode == "full":
        return nb
    if mode == "skip":
        return skip_training(nb, notes)
    cells = [i + 1 for i, cell in enumerate(nb.cells) if _trains(cell)]
    if cells:
        notes.append(
            f"Training was capped at {mode} epoch(s) for grading ({_cells(cells)}): checks call "
            "your functions directly; train in your own notebook to see accuracy."
        )
    return nb


def skip_training(nb: NotebookNode, notes: list[str]) -> NotebookNode:
    """Top-level `.fit(` / `.fit_generator(` statements become `pass`, and so do their users.

    Inside `if`/`for`/`with`/`try` blocks only the statements that train are replaced, so
    `model = create_model()` beside `model.fit(...)` still runs. Function and class bodies
    are never touched (graded functions stay whole). Cells that do not parse are left as
    they are. The names the skipped statements would have set stay unset, so statements in
    this and later cells that read one (`acc = history.history[...]`, `plot(history)`)
    would only raise NameError: they are skipped too, and what they set is unset in turn,
    until something that still runs sets the name again (see `_walk`). One note says which
    cells trained, which were skipped for using the results, and what stayed unset.
    """
    unset_now = _Unset()
    trained: list[int] = []
    using: list[int] = []
    fit_names: list[str] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not (unset_now.names or _FIT_TEXT.search(cell.source)):
            continue
        view = _python_view(cell.source)
        if view is None:
            continue
        tree = _parse(view.lines)
        if isinstance(tree, SyntaxError):
            continue
        skips: list[_Skip] = []
        unset_now.new_cell()
        _walk(tree.body, unset_now, skips)
        if not skips:
            continue
        done = [(s.stmt, _FIT_COMMENT if s.fit else _USES_COMMENT) for s in skips]
        source = _replace_statements(cell.source.split("\n"), view, done)
        after = _python_view(source)
        if after is None or not _parses(after.lines):
            continue  # not expected; a cell that no longer parses would lose its functions
        cell.source = source
        fits = [s.stmt for s in skips if s.fit]
        (trained if fits else using).append(index + 1)
        for stmt in fits:
            fit_names.extend(n for n in _bound_names(stmt) if n not in fit_names)
    if trained:
        note = (
            f"Training was skipped for grading ({_cells(trained)}): checks call your functions "
            "directly; train in your own notebook to see accuracy."
        )
        if using:
            note += f" Also not run, as they use its results: {_cells(using)}."
        left = [n for n in fit_names if n in unset_now.names]  # not those set again later
        if left:
            names = ", ".join(f"`{n}`" for n in left[:8])
            note += f" Left unset because of this: {names}."
        notes.append(note)
    return nb


_FIT_COMMENT = "training skipped by the grader"
_LOOP_LOOKS = 4  # loops of a nest that look at their body once first (see `_walk`)
_USES_COMMENT = "uses training results, skipped by the grader"


@dataclass
class _Skip:
    """A statement to replace by `pass`: it trains (fit), or it reads a name training sets."""

    stmt: ast.stmt
    fit: bool


def _cells(numbers: list[int]) -> str:
    return ("cell " if len(numbers) == 1 else "cells ") + ", ".join(map(str, numbers))


def _trains(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and bool(_FIT_TEXT.search(cell.source))


def _calls_fit(node: ast.AST) -> bool:
    """A `.fit(` call anywhere in `node`, not counting function, class or lambda bodies."""
    stack = [node]
    while stack:
        current = stack.pop()
        if (
            isinstance(current, ast.Call)
            and isinstance(current.func, ast.Attribute)
            and current.func.attr in _FIT_NAMES
        ):
            return True
        stack.extend(c for c in ast.iter_child_nodes(current) if not isinstance(c, _SCOPES))
    return False


class _Unset:
    """The names a skipped statement would have set ("poisoned"), with an undo log.

    Branches are walked from the same start and joined; the log lets each cost what it
    changes rather than a copy of every unset name (a 2 MB notebook can have many).
    """

    def __init__(self) -> None:
        self.names: set[str] = set()
        self._log: list[tuple[str, bool]] = []  # (name, was it unset before)
        self._bound: dict[int, list[str]] = {}  # one cell's compound statements: id -> names

    def new_cell(self) -> None:
        self._bound.clear()  # ids of the last cell's nodes may be reused

    def bound(self, stmt: ast.stmt) -> list[str]:
        """`_bound_names(stmt)`, once per statement (a deep nest asks at every level)."""
        if id(stmt) not in self._bound:
            if isinstance(stmt, _COMPOUND):  # from its parts' names: each walked once
                header, blocks = _parts(stmt)
                names = {n for h in header for n in _bound_names(h)}
                names.update(h.name for h in getattr(stmt, "handlers", []) if h.name)
                names.update(n for block in blocks for s in block for n in self.bound(s))
                self._bound[id(stmt)] = sorted(names)
            else:
                self._bound[id(stmt)] = _bound_names(stmt)
        return self._bound[id(stmt)]

    def add(self, names: Iterable[str]) -> None:
        for name in names:
            if name not in self.names:
                self.names.add(name)
                self._log.append((name, False))

    def discard(self, names: Iterable[str]) -> None:
        for name in names:
            if name in self.names:
                self.names.remove(name)
                self._log.append((name, True))

    def mark(self) -> int:
        return len(self._log)

    def undo(self, mark: int) -> None:
        while len(self._log) > mark:
            name, was = self._log.pop()
            (self.names.add if was else self.names.discard)(name)

    def unset_at(self, mark: int) -> list[str]:
        """Names changed since `mark` that were unset at it."""
        first: dict[str, bool] = {}
        for name, was in self._log[mark:]:
            first.setdefault(name, was)
        return [name for name, was in first.items() if was]

    def fork(self, run: Callable[[], object]) -> dict[str, bool]:
        """Run `run`, undo what it changed, return {name: unset at its end} for those."""
        mark = self.mark()
        run()
        changed = {name: name in self.names for name, _ in self._log[mark:]}
        self.undo(mark)
        return changed

    def join(self, *runs: Callable[[], object]) -> None:
        """Each of `runs` from the current state; then a name is unset if any left it so."""
        ends = [self.fork(run) for run in runs]
        for name in {n for end in ends for n in end}:
            start = name in self.names
            if any(end.get(name, start) for end in ends):
                self.add([name])
            else:
                self.discard([name])


def _walk(
    body: list[ast.stmt], unset: _Unset, skips: list[_Skip], looks: int = _LOOP_LOOKS
) -> None:
    """Statements of `body` in the order they run, updating which names are unset.

    A statement that trains, or reads an unset name when it runs (def and lambda bodies
    run later, if called, so they do not count), is skipped and what it would have set is
    unset too; one that runs sets what it binds again. Branches join (a name is unset if
    it may be); a loop body is looked at once first so that a name it leaves unset is
    unset at the start of its next round. Only the `looks` outermost loops of a nest do
    that (course notebooks nest two or three), so a deep nest costs a few walks, not
    2**depth or depth**2.
    """
    for stmt in body:
        if isinstance(stmt, _COMPOUND):
            _walk_compound(stmt, unset, skips, looks)
        elif not isinstance(stmt, _SCOPES) and _calls_fit(stmt):
            skips.append(_Skip(stmt, fit=True))
            unset.add(_bound_names(stmt))
        elif not unset.names.isdisjoint(_reads(stmt)):
            skips.append(_Skip(stmt, fit=False))
            unset.add(_bound_names(stmt))
        else:
            unset.discard(_bound_names(stmt))


def _walk_compound(stmt: ast.stmt, unset: _Unset, skips: list[_Skip], looks: int) -> None:
    """An if/for/while/with/try/match, skipped whole or statement by statement.

    Whole when its header trains or needs results; else the statements inside, and whole
    again when every one of those is skipped for results (a `with open(...)` left with only
    `pass` would still empty the file it opens).
    """
    header, blocks = _parts(stmt)
    fits = any(_calls_fit(h) for h in header)
    if fits or any(not unset.names.isdisjoint(_reads(h)) for h in header):
        skips.append(_Skip(stmt, fit=fits))
        unset.add(unset.bound(stmt))
        return
    inner: list[_Skip] = []

    def walk(block: list[ast.stmt], into: list[_Skip] = inner, more: int = looks) -> None:
        _walk(block, unset, into, more)

    before = unset.mark()
    binds = [n for h in header for n in _bound_names(h)]
    unset.discard(binds)
    if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
        if looks > 0:  # what the body leaves unset is unset again at its next round
            first = unset.fork(lambda: walk(stmt.body, [], 0))
            unset.add(n for n, left in first.items() if left and n not in binds)
        walk(stmt.body, more=looks - 1)
        walk(stmt.orelse)
    elif isinstance(stmt, ast.If):
        unset.join(lambda: walk(stmt.body), lambda: walk(stmt.orelse))
    elif isinstance(stmt, ast.Match):
        unset.join(lambda: None, *(lambda c=c: walk(c.body) for c in stmt.cases))
    elif hasattr(stmt, "handlers"):  # try, try*: a handler may start anywhere in the body
        body_start = unset.mark()
        walk(stmt.body)
        was_unset = unset.unset_at(body_start)

        def handler(h: ast.ExceptHandler) -> None:
            unset.add(was_unset)
            unset.discard([h.name] if h.name else [])
            walk(h.body)

        unset.join(lambda: walk(stmt.orelse), *(lambda h=h: handler(h) for h in stmt.handlers))
        walk(stmt.finalbody)
    else:  # with
        walk(stmt.body)
    skipped = {id(s.stmt) for s in inner}
    if (
        inner
        and not any(s.fit for s in inner)
        and all(id(s) in skipped or isinstance(s, ast.Pass) for block in blocks for s in block)
    ):
        unset.undo(before)
        skips.append(_Skip(stmt, fit=False))
        unset.add(unset.bound(stmt))
        return
    skips.extend(inner)


def _parts(stmt: ast.stmt) -> tuple[list[ast.AST], list[list[ast.stmt]]]:
    """(What a compound statement evaluates itself, its blocks of statements).

    The first part: test, iterable, context managers, exception types, patterns, guards.
    """
    blocks = [
        getattr(stmt, name) for name in ("body", "orelse", "finalbody") if hasattr(stmt, name)
    ]
    blocks += [h.body for h in getattr(stmt, "handlers", [])]
    blocks += [c.body for c in getattr(stmt, "cases", [])]
    inner = {id(s) for block in blocks for s in block}
    header: list[ast.AST] = []
    for child in ast.iter_child_nodes(stmt):
        if id(child) in inner:
            continue
        if isinstance(child, ast.excepthandler):
            header.extend([child.type] if child.type else [])
        elif isinstance(child, ast.match_case):
            header.extend([child.pattern, *([child.guard] if child.guard else [])])
        else:
            header.append(child)
    return header, blocks


def _reads(node: ast.AST) -> set[str]:
    """Names `node` reads as it runs, so those it fails on when they are unset.

    Not def or lambda bodies (they run when called), nor a comprehension's own variables;
    a def's decorators and defaults do count.
    """
    out: set[str] = set()
    stack: list[tuple[ast.AST, frozenset[str]]] = [(node, frozenset())]
    while stack:
        current, local = stack.pop()
        if isinstance(current, ast.Name):
            if not isinstance(current.ctx, ast.Store) and current.id not in local:
                out.add(current.id)
            continue
        if isinstance(current, ast.AugAssign) and isinstance(current.target, ast.Name):
            if current.target.id not in local:
                out.add(current.target.id)  # `acc += 1` reads acc first
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef)):
            children: list[ast.AST] = [*current.decorator_list, current.args]
            children += [current.returns] if current.returns else []
        elif isinstance(current, ast.ClassDef):
            children = [*current.decorator_list, *current.bases, *current.keywords]
        elif isinstance(current, ast.Lambda):
            children = [current.args]
        elif isinstance(current, _COMPREHENSIONS):
            first = current.generators[0].iter  # evaluated outside the comprehension
            own = local | {
                n.id
                for g in current.generators
                for n in ast.walk(g.target)
                if isinstance(n, ast.Name)
            }
            stack.append((first, local))
            for child in ast.iter_child_nodes(current):
                parts = (
                    ast.iter_child_nodes(child) if isinstance(child, ast.comprehension) else [child]
                )
                stack.extend((p, own) for p in parts if p is not first)
            continue
        else:
            children = list(ast.iter_child_nodes(current))
        stack.extend((c, local) for c in children)
    return out


def _bound_names(node: ast.AST) -> list[str]:
    """Names running `node` binds in the notebook's namespace, sorted.

    Assignment, loop and `with ... as` targets, imports, defs and classes; not what def or
    class bodies bind, nor a comprehension's own variables.
    """
    names: set[str] = set()
    stack: list[tuple[ast.AST, bool]] = [(node, False)]
    while stack:
        current, in_comprehension = stack.pop()
        if isinstance(current, ast.Name):
            if isinstance(current.ctx, ast.Store) and not in_comprehension:
                names.add(current.id)
            continue
        if isinstance(current, ast.NamedExpr) and isinstance(current.target, ast.Name):
            names.add(current.target.id)  # `:=` binds outside a comprehension too
        elif isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(current.name)
            continue
        elif isinstance(current, ast.Lambda):
            continue
        elif isinstance(current, (ast.Import, ast.ImportFrom)):
            names.update(a.asname or a.name.split(".")[0] for a in current.names if a.name != "*")
        elif isinstance(current, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)):
            names.update([current.name] if current.name else [])
        elif isinstance(current, ast.MatchMapping) and current.rest:
            names.add(current.rest)
        elif isinstance(current, ast.AnnAssign) and current.value is None:
            continue  # `x: int` binds nothing
        inside = in_comprehension or isinstance(current, _COMPREHENSIONS)
        stack.extend((c, inside) for c in ast.iter_child_nodes(current))
    return sorted(names)


def _replace_statements(lines: list[str], view: _View, found: list[tuple[ast.stmt, str]]) -> str:
    """Each statement's span becomes `pass  # comment`; the lines it covered stay, empty."""
    for stmt, comment in sorted(found, key=lambda f: (f[0].lineno, f[0].col_offset), reverse=True):
        first, last = stmt.lineno - 1, (stmt.end_lineno or stmt.lineno) - 1
        start = _source_col(lines, view, first, stmt.col_offset, at_end=False)
        end = _source_col(lines, view, last, stmt.end_col_offset or 0, at_end=True)
        rest = lines[last][end:]
        head = lines[first][:start] + "pass"
        if not rest.strip():
            head += f"  # {comment}"
        lines[first : last + 1] = [head + rest, *([""] * (last - first))]
    return "\n".join(lines)


def _source_col(lines: list[str], view: _View, row: int, byte_col: int, *, at_end: bool) -> int:
    """A view column (UTF-8 bytes, as ast gives) as a column of the source line."""
    if not view.exact[row]:
        line = lines[row]
        return len(line) if at_end else len(_indent_of(line))
    chars = len(view.lines[row].encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))
    return view.offset[row] + chars


STEPS: tuple[Step, ...] = (
    clear_outputs,
    drop_attachments_and_widgets,
    cut_at_grade_up_to_here,
    rewrite_shell_commands,
)


def sanitise(nb: NotebookNode, notes: list[str], *, training: Any = "full") -> NotebookNode:
    """All of `STEPS`, then the exercise's training mode ("skip", "full", or an epoch cap)."""
    for step in STEPS:
        nb = step(nb, notes)
    return apply_training(nb, notes, training)
