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
from collections.abc import Callable, Mapping
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
    """Top-level statements calling `.fit(` / `.fit_generator(` become `pass`.

    Inside `if`/`for`/`with`/`try` blocks only the statements that train are replaced, so
    `model = create_model()` beside `model.fit(...)` still runs. Function and class bodies
    are never touched (graded functions stay whole). Cells that do not parse are left as
    they are. Names the skipped statements would have set stay unset, and the note says so.
    """
    cells: list[int] = []
    unset: list[str] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not _FIT_TEXT.search(cell.source):
            continue
        view = _python_view(cell.source)
        if view is None:
            continue
        tree = _parse(view.lines)
        if isinstance(tree, SyntaxError):
            continue
        found: list[ast.stmt] = []
        _training_statements(tree.body, found)
        if not found:
            continue
        cell.source = _replace_statements(cell.source.split("\n"), view, found)
        cells.append(index + 1)
        for stmt in found:
            unset.extend(n for n in _assigned_names(stmt) if n not in unset)
    if cells:
        note = (
            f"Training was skipped for grading ({_cells(cells)}): checks call your functions "
            "directly; train in your own notebook to see accuracy."
        )
        if unset:
            names = ", ".join(f"`{n}`" for n in unset[:8])
            note += f" Left unset because of this: {names}."
        notes.append(note)
    return nb


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


def _training_statements(body: list[ast.stmt], found: list[ast.stmt]) -> None:
    for stmt in body:
        if isinstance(stmt, _SCOPES):
            continue
        if not isinstance(stmt, _COMPOUND):
            if _calls_fit(stmt):
                found.append(stmt)
            continue
        blocks = [
            getattr(stmt, name) for name in ("body", "orelse", "finalbody") if hasattr(stmt, name)
        ]
        blocks += [h.body for h in getattr(stmt, "handlers", [])]
        blocks += [c.body for c in getattr(stmt, "cases", [])]
        inner = {id(s) for block in blocks for s in block}
        header = [c for c in ast.iter_child_nodes(stmt) if id(c) not in inner]
        if any(_calls_fit(h) for h in header if not isinstance(h, ast.excepthandler)):
            found.append(stmt)  # the loop or test itself trains: the whole statement goes
            continue
        for block in blocks:
            _training_statements(block, found)


def _assigned_names(stmt: ast.stmt) -> list[str]:
    names: list[str] = []
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id not in names:
            names.append(node.id)
        stack.extend(
            c for c in ast.iter_child_nodes(node) if not isinstance(c, _SCOPES + _COMPREHENSIONS)
        )
    return sorted(names, key=lambda n: (getattr(stmt, "lineno", 0), n))


def _replace_statements(lines: list[str], view: _View, found: list[ast.stmt]) -> str:
    """Each statement's span becomes `pass`; the lines it covered stay, empty."""
    for stmt in sorted(found, key=lambda s: (s.lineno, s.col_offset), reverse=True):
        first, last = stmt.lineno - 1, (stmt.end_lineno or stmt.lineno) - 1
        start = _source_col(lines, view, first, stmt.col_offset, at_end=False)
        end = _source_col(lines, view, last, stmt.end_col_offset or 0, at_end=True)
        rest = lines[last][end:]
        head = lines[first][:start] + "pass"
        if not rest.strip():
            head += "  # training skipped by the grader"
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
