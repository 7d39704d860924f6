"""Turn a course-style solution notebook into a starter notebook and a spec skeleton.

Graded cells are found the ways course notebooks mark them: a first line
`# GRADED FUNCTION: <name>`, a `graded` tag, or nbgrader metadata
(`"nbgrader": {"solution": true}`). In them, code between
`### START CODE HERE ###` and `### END CODE HERE ###` (or nbgrader's
`### BEGIN SOLUTION` / `### END SOLUTION`) becomes `name = None` placeholders;
a graded function with no markers keeps its signature and docstring and gets
an empty marked body. nbgrader's autograder test cells are dropped, since
checks run outside the kernel here. The skeleton validates as an ExerciseSpec;
its checks are TODOs to fill in (arguments, comparison, hidden inputs).
"""

from __future__ import annotations

import ast
import copy
import re
from typing import Any

from nbformat import NotebookNode

from graders.notebook.read import NotebookError, read_notebook

START = "### START CODE HERE ###"
END = "### END CODE HERE ###"
_GRADED = re.compile(r"^\s*#\s*GRADED FUNCTION:\s*([A-Za-z_]\w*)", re.MULTILINE)
"""`.match` finds the course's first-line marker; `.search`/`.findall`, one anywhere in a cell."""
_REGIONS = (
    (re.compile(r"^\s*###\s*START CODE HERE\b.*$"), re.compile(r"^\s*###\s*END CODE HERE\b.*$")),
    (re.compile(r"^\s*###\s*BEGIN SOLUTION\b.*$"), re.compile(r"^\s*###\s*END SOLUTION\b.*$")),
)
_HIDDEN_TESTS = re.compile(
    r"^\s*###\s*BEGIN HIDDEN TESTS.*?^\s*###\s*END HIDDEN TESTS.*?$", re.MULTILINE | re.DOTALL
)
_ASSIGN = re.compile(r"^\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*(?:=(?!=)|\+=|-=|\*=|/=)")


def _nbgrader(cell: NotebookNode) -> dict[str, Any]:
    meta = cell.metadata.get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def _is_graded(cell: NotebookNode) -> bool:
    if cell.cell_type != "code":
        return False
    return bool(
        _GRADED.search(cell.source)
        or "graded" in (cell.metadata.get("tags") or [])
        or _nbgrader(cell).get("solution")
    )


def _is_autograder_test(cell: NotebookNode) -> bool:
    meta = _nbgrader(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _placeholders(body: list[str], indent: str) -> list[str]:
    names: list[str] = []
    for line in body:
        match = _ASSIGN.match(line)
        if match:
            for name in (n.strip() for n in match.group(1).split(",")):
                if name not in names:
                    names.append(name)
    return [f"{indent}{name} = None" for name in names] or [f"{indent}pass"]


def blank_regions(source: str) -> tuple[str, int]:
    """Replace every solution region by START/END markers around None placeholders."""
    lines = source.split("\n")
    out: list[str] = []
    count, i = 0, 0
    while i < len(lines):
        region = next((pair for pair in _REGIONS if pair[0].match(lines[i])), None)
        if region is None:
            out.append(lines[i])
            i += 1
            continue
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        j = i + 1
        while j < len(lines) and not region[1].match(lines[j]):
            j += 1
        out += [f"{indent}{START}", *_placeholders(lines[i + 1 : j], indent), f"{indent}{END}"]
        count += 1
        i = j + 1
    return "\n".join(out), count


def blank_functions(source: str, skip: set[str] | None = None) -> tuple[str, list[str]]:
    """Give top-level functions a marked, empty body (signature and docstring kept).

    Functions named in `skip` (already blanked by their own markers) are left alone.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source, []
    lines = source.split("\n")
    names: list[str] = []
    for node in sorted(
        (n for n in tree.body if isinstance(n, ast.FunctionDef)),
        key=lambda n: n.lineno,
        reverse=True,
    ):
        if node.name in (skip or set()):
            continue
        names.append(node.name)
        first = node.body[0]
        keep_doc = (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        )
        start = (first.end_lineno if keep_doc else first.lineno - 1) or node.lineno
        indent = " " * first.col_offset
        body = [
            f"{indent}{START}",
            f"{indent}result = None",
            f"{indent}{END}",
            f"{indent}return result",
        ]
        lines[start : node.end_lineno] = body
    return "\n".join(lines), list(reversed(names))


def _marked_functions(source: str) -> set[str]:
    """Functions whose body holds a START/END (or BEGIN/END SOLUTION) region."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    lines = source.split("\n")
    marked = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            body = lines[node.lineno - 1 : node.end_lineno]
            if any(pair[0].match(line) for line in body for pair in _REGIONS):
                marked.add(node.name)
    return marked


def _functions_in(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return re.findall(r"^def\s+([A-Za-z_]\w*)\s*\(", source, re.MULTILINE)
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]


def _signature(source: str, name: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            required = len(node.args.args) - len(node.args.defaults)
            return [a.arg for a in node.args.args[:required]]
    return []


def _title(nb: NotebookNode, slug: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#+\s*(.+)$", cell.source, re.MULTILINE)
            if match:
                return match.group(1).strip()[:200]
    return slug.replace("-", " ").capitalize()


def import_notebook(nb_bytes: bytes, slug: str) -> tuple[NotebookNode, dict[str, Any]]:
    """(starter notebook, spec skeleton dict) from a course-style solution notebook."""
    source_nb = read_notebook(nb_bytes)
    starter = copy.deepcopy(source_nb)
    functions: list[tuple[str, str]] = []  # (name, original cell source)
    kept = []
    for cell in starter.cells:
        if _is_autograder_test(cell):
            continue
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.source = _HIDDEN_TESTS.sub("", cell.source)
        if _is_graded(cell):
            original = cell.source
            names = _GRADED.findall(original) or _functions_in(original)
            cell.source, _ = blank_regions(original)
            cell.source, _ = blank_functions(cell.source, skip=_marked_functions(original))
            if not _GRADED.search(cell.source) and names:
                cell.source = f"# GRADED FUNCTION: {names[0]}\n{cell.source}"
            nbgrader = _nbgrader(cell)
            if nbgrader:
                cell.metadata.pop("nbgrader", None)
            functions += [(n, original) for n in names if n not in {f for f, _ in functions}]
        kept.append(cell)
    starter.cells = kept
    if not functions:
        raise NotebookError(
            400,
            "no_graded_cells",
            "No graded cells: mark each graded function's cell with a first line "
            "'# GRADED FUNCTION: <name>', a 'graded' tag or nbgrader solution metadata.",
        )
    prompt = next(
        (
            c.source.strip()
            for c in source_nb.cells
            if c.cell_type == "markdown" and c.source.strip()
        ),
        "TODO: describe the exercise.",
    )
    week = re.search(r"c\d+w(\d)", slug)
    checks = [
        {
            "name": f"{name}: TODO describe this check",
            "function": name,
            "args": [],
            "kwargs": {},
            "compare": "exact",
            "points": 1,
            "visibility": "visible",
            "hint": "TODO: call with arguments for ("
            + ", ".join(_signature(src, name))
            + "); add hidden checks with other inputs.",
        }
        for name, src in functions
    ]
    skeleton = {
        "slug": slug,
        "title": _title(source_nb, slug),
        "kind": "notebook",
        "week": int(week.group(1)) if week and int(week.group(1)) <= 4 else 0,
        "points": float(max(1, len(checks))),
        "prompt": prompt[:4000],
        "tags": ["notebook"],
        "notebook": {
            "starter": "starter.ipynb",
            "reference": slug.replace("-", "_"),
            "time_limit": 180,
            "cell_timeout": 60,
            "checks": checks,
        },
    }
    return starter, skeleton
