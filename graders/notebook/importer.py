"""Course notebooks in, an exercise out: starter, solution and spec (checks come from record.py).

The course's conventions are read as they are:

* A **graded function** is a top-level `def` whose body holds a solution region
  (`### START CODE HERE ###` .. `### END CODE HERE ###`, or nbgrader's
  `### BEGIN SOLUTION` .. `### END SOLUTION`), or one that follows a
  `# GRADED FUNCTION(S): <name>` header. Its name is the def's own: headers
  have typos (`fit_tvectorizer` above `def fit_vectorizer`). A cell that is only
  tagged `graded` (imports, constants, a helper given whole) is not blanked and
  gets no check: the course tags it so its own grader copies it.
* Given a **blank** (the assignment as distributed, regions already empty) and
  its solution, the starter is the blank itself with outputs cleared. Only
  what `adventures exercises check` relies on is tidied: each graded function
  gets its own cell starting with the exact `# GRADED FUNCTION: <def name>`
  line, and marker lines are spelled canonically. Nothing else is removed.
* Given a **solved notebook** alone, the blank is derived from it: each region
  keeps its markers, and its body becomes `name = None` for each name the
  region assigns at its top level (never a keyword argument on a line inside
  an open call), plus its top-level `return` (`return None` when the returned
  expression would give the answer away). A header-marked function without
  markers keeps its signature and docstring around an empty marked body.
* The **solution** may have no markers at all (the old lesson repo's answers, or
  a blank filled in with the markers deleted); it pairs with the blank by the
  graded functions' names, and an import is refused when one is missing.

nbgrader's autograder test cells and hidden tests are dropped from the
starter, since checks run outside the kernel here. Nothing here runs code:
graders.notebook.record runs the solution to record the checks.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from graders.markers import END, HEADER, LOOSE_HEADER, START
from graders.notebook.limits import Limits
from graders.notebook.read import NotebookError, read_notebook

SOLUTION_FILE = "solution.ipynb"
STARTER_FILE = "starter.ipynb"

_HEADER = LOOSE_HEADER
_REGIONS = (
    (
        re.compile(r"^\s*#{2,}\s*START\s+CODE\s+HERE\b.*$", re.IGNORECASE),
        re.compile(r"^\s*#{2,}\s*END\s+CODE\s+HERE\b.*$", re.IGNORECASE),
    ),
    (
        re.compile(r"^\s*#{2,}\s*BEGIN\s+SOLUTION\b.*$", re.IGNORECASE),
        re.compile(r"^\s*#{2,}\s*END\s+SOLUTION\b.*$", re.IGNORECASE),
    ),
)
_HIDDEN_TESTS = re.compile(
    r"^\s*###\s*BEGIN HIDDEN TESTS.*?^\s*###\s*END HIDDEN TESTS.*?$", re.MULTILINE | re.DOTALL
)
_NONE = re.compile(r"\bNone\b")
_READ_LIMITS = Limits(max_bytes=64 * 1024 * 1024, max_cells=2000)
"""An instructor's notebook may carry outputs (cleared here) a member's upload may not."""


# ---- reading cells ----------------------------------------------------------------------


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _width(indent: str) -> int:
    return len(indent.expandtabs(8))


def _code_end(line: str, quote: str | None) -> tuple[int, int, str | None]:
    """Scan one physical line: (bracket change, index where code ends, open string quote)."""
    depth, i = 0, 0
    while i < len(line):
        if quote:
            if line[i] == "\\":
                i += 2
                continue
            if line.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
            i += 1
            continue
        ch = line[i]
        if ch == "#":
            return depth, i, None
        if ch in "\"'":
            quote = line[i : i + 3] if line[i : i + 3] in ('"""', "'''") else ch
            i += len(quote)
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        i += 1
    if quote is not None and len(quote) == 1:
        quote = None  # an unterminated one-line string: a syntax error, not a continuation
    return depth, len(line), quote


def statements(lines: list[str]) -> list[tuple[int, int]]:
    """(first, end) line spans of the logical statements in lines; comments and blanks skipped.

    A statement continues while a bracket or a triple-quoted string is open, or the line
    ends in a backslash, so `loss=None,` inside `model.compile(` belongs to the call.
    """
    spans: list[tuple[int, int]] = []
    start: int | None = None
    depth, quote = 0, None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if start is None:
            if not stripped or stripped.startswith("#"):
                continue
            start = i
        change, end, quote = _code_end(line, quote)
        depth = max(0, depth + change)
        continued = line[:end].rstrip().endswith("\\")
        if depth == 0 and quote is None and not continued:
            spans.append((start, i + 1))
            start = None
    if start is not None:
        spans.append((start, len(lines)))
    return spans


def _parseable(source: str) -> str:
    """The source with IPython-only lines (`!cmd`, `%magic`) turned into `pass`, same lines."""
    out = []
    for line in source.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith(("!", "%")):
            out.append(_indent_of(line) + "pass")
        else:
            out.append(line)
    return "\n".join(out)


@dataclass
class _Def:
    name: str
    start: int  # first line (a decorator's, if any), 0-based
    end: int  # one past the last line
    node: ast.FunctionDef | ast.AsyncFunctionDef | None = None


_DEF_LINE = re.compile(r"^(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(")


def top_level_defs(source: str) -> list[_Def]:
    """Top-level functions of a cell: by ast, or by indentation when the cell does not parse
    (a blank's `label_encoder.None` is a syntax error, and its function still counts)."""
    try:
        tree = ast.parse(_parseable(source))
    except SyntaxError:
        tree = None
    if tree is not None:
        return [
            _Def(
                node.name,
                min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1,
                node.end_lineno or node.lineno,
                node,
            )
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        ]
    lines = source.split("\n")
    found: list[_Def] = []
    i = 0
    while i < len(lines):
        match = _DEF_LINE.match(lines[i])
        if not match:
            i += 1
            continue
        j, last = i + 1, i + 1
        while j < len(lines):
            text = lines[j]
            if text.strip() and not text[0].isspace() and not text.lstrip().startswith("#"):
                if text[0] not in ")]}":
                    break
            if text.strip() and not text.lstrip().startswith("#"):
                last = j + 1
            j += 1
        start = i
        while start > 0 and lines[start - 1].startswith("@"):
            start -= 1
        found.append(_Def(match.group(1), start, last))
        i = max(j, i + 1)
    return found


def regions(lines: list[str]) -> list[tuple[int, int]]:
    """(start marker, end marker) line pairs; an unterminated start marker is ignored."""
    found = []
    i = 0
    while i < len(lines):
        pair = next((p for p in _REGIONS if p[0].match(lines[i])), None)
        if pair is None:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not pair[1].match(lines[j]):
            j += 1
        if j < len(lines):
            found.append((i, j))
            i = j + 1
        else:
            i += 1
    return found


def _headers(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if _HEADER.match(line)]


def _nbgrader(cell: NotebookNode) -> dict[str, Any]:
    meta = cell.metadata.get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def _is_autograder_test(cell: NotebookNode) -> bool:
    meta = _nbgrader(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


@dataclass
class Graded:
    """One graded function in one cell: marked (holds a region) or named by a header only."""

    name: str
    cell: int
    defn: _Def
    marked: bool


def graded_in_cell(cell: NotebookNode, index: int) -> list[Graded]:
    """The cell's graded functions (see the module docstring for what counts)."""
    if cell.cell_type != "code" or _is_autograder_test(cell):
        return []
    lines = cell.source.split("\n")
    defs = top_level_defs(cell.source)
    if not defs:
        return []
    spans = regions(lines)
    names = {d.name for d in defs}
    named: set[str] = set()
    loose: list[int] = []  # headers whose name is no def here (a typo): they name the next def
    for h in _headers(lines):
        match = _HEADER.match(lines[h])
        name = match.group(1) if match else None
        if name in names:
            named.add(name)
        else:
            loose.append(h)
    whole = bool(_nbgrader(cell).get("solution"))
    found = []
    previous_end = 0
    for d in defs:
        marked = any(d.start <= s < d.end for s, _ in spans)
        headed = d.name in named or any(previous_end <= h < d.start for h in loose)
        if marked or headed or whole:
            found.append(Graded(d.name, index, d, marked))
        previous_end = d.end
    return found


def graded_functions(nb: NotebookNode) -> list[Graded]:
    """Every graded function of the notebook, first definition of each name."""
    seen: set[str] = set()
    found = []
    for index, cell in enumerate(nb.cells):
        for graded in graded_in_cell(cell, index):
            if graded.name not in seen:
                seen.add(graded.name)
                found.append(graded)
    return found


def defined_functions(nb: NotebookNode) -> set[str]:
    """Names of all top-level functions in the notebook's code cells."""
    return {d.name for c in nb.cells if c.cell_type == "code" for d in top_level_defs(c.source)}


def region_solved(lines: list[str]) -> bool:
    """Does a region hold an answer? A blank's regions are empty or every statement in them
    keeps a `None` to replace (`vectorizer = None`, `loss=None,` in a call, `label_encoder.None`)."""
    for first, end in statements(lines):
        text = "\n".join(_strip_comment(line) for line in lines[first:end]).strip()
        if text in ("", "pass", "..."):
            continue
        if not _NONE.search(text):
            return True
    return False


def _solved_regions(blank: NotebookNode) -> list[str]:
    """Warnings for a blank's regions that already hold code with no None to fill in."""
    found = []
    for index, cell in enumerate(blank.cells):
        if cell.cell_type != "code":
            continue
        lines = cell.source.split("\n")
        if any(region_solved(lines[s + 1 : e]) for s, e in regions(lines)):
            found.append(
                f"cell {index + 1}: a START/END region in the blank already holds code; "
                "members see it as given (check that this is the blank)"
            )
    return found


def _strip_comment(line: str) -> str:
    _, end, _ = _code_end(line, None)
    return line[:end]


def looks_blank(nb: NotebookNode) -> bool:
    """True when the notebook has solution regions and none of them holds an answer."""
    any_region = False
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        lines = cell.source.split("\n")
        for s, e in regions(lines):
            any_region = True
            if region_solved(lines[s + 1 : e]):
                return False
    return any_region


# ---- blanking a solved notebook ----------------------------------------------------------


def _target_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for elt in target.elts for n in _target_names(elt)]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return []


def _simple(expr: ast.expr | None) -> bool:
    """A returned expression that gives nothing away: names, constants, tuples of them."""
    if expr is None or isinstance(expr, (ast.Name, ast.Constant)):
        return True
    if isinstance(expr, (ast.Tuple, ast.List)):
        return all(_simple(e) for e in expr.elts)
    return False


_ASSIGN_FALLBACK = re.compile(r"^([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*(?:=(?!=)|[-+*/]=)")


def blank_region(body: list[str], indent: str) -> list[str]:
    """Placeholders for a solution region's body (markers not included); always valid code.

    Only statements at the region's own indentation count: `x = ...` becomes `x = None`
    (each name once, in order), a `return` is kept (as `return None` when it returns more
    than names), and everything else goes. Lines inside an open bracket belong to their
    statement, so a call's `loss=None,` never becomes a placeholder.
    """
    spans = statements(body)
    base = min([_width(indent)] + [_width(_indent_of(body[s])) for s, _ in spans])
    names: list[str] = []
    returns: list[str] = []
    for first, end in spans:
        if _width(_indent_of(body[first])) != base:
            continue
        code = [_strip_comment(line) for line in body[first:end]]
        text = "\n".join([code[0].lstrip(), *code[1:]]).rstrip()
        if text.endswith(":"):
            continue  # a block header (for/with/if): its body is deeper, and goes with it
        try:
            tree = ast.parse(text)
        except SyntaxError:
            match = _ASSIGN_FALLBACK.match(text)
            if match:
                names += [n.strip() for n in match.group(1).split(",")]
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign):
                names += [n for t in node.targets for n in _target_names(t)]
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                names += _target_names(node.target)
            elif isinstance(node, ast.Return) and not returns:
                if _simple(node.value):
                    returns += [body[first].lstrip(), *body[first + 1 : end]]
                else:
                    returns.append("return None")
    out = [f"{indent}{name} = None" for name in dict.fromkeys(names)]
    out += [f"{indent}{line}" if k == 0 else line for k, line in enumerate(returns)]
    return out or [f"{indent}pass"]


def blank_regions(source: str) -> tuple[str, int]:
    """Every solution region's body replaced by placeholders, between canonical markers."""
    lines = source.split("\n")
    spans = regions(lines)
    if not spans:
        return source, 0
    out: list[str] = []
    last = 0
    for s, e in spans:
        indent = _indent_of(lines[s])
        out += lines[last:s]
        out += [f"{indent}{START}", *blank_region(lines[s + 1 : e], indent), f"{indent}{END}"]
        last = e + 1
    out += lines[last:]
    return "\n".join(out), len(spans)


def blank_function(source: str, name: str) -> str:
    """A header-marked function without markers: signature and docstring kept, body emptied."""
    try:
        tree = ast.parse(_parseable(source))
    except SyntaxError:
        return source
    lines = source.split("\n")
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.name != name:
            continue
        first = node.body[0]
        keep_doc = (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        )
        start = (first.end_lineno if keep_doc else first.lineno - 1) or node.lineno
        indent = lines[first.lineno - 1][: first.col_offset]
        if keep_doc and len(node.body) == 1:
            start = first.end_lineno or start
        lines[start : node.end_lineno] = [
            f"{indent}{START}",
            f"{indent}result = None",
            f"{indent}{END}",
            f"{indent}return result",
        ]
        return "\n".join(lines)
    return source


# ---- tidying the starter ------------------------------------------------------------------


def _new_cell_like(cell: NotebookNode, source: str) -> NotebookNode:
    new = nbformat.v4.new_code_cell(source, metadata=copy.deepcopy(cell.metadata))
    return new


def _split_points(cell: NotebookNode, graded: list[Graded]) -> list[int]:
    """Lines where a cell holding several graded functions is cut, one function per cell."""
    lines = cell.source.split("\n")
    points = []
    for g in graded:
        start = g.defn.start
        while start > 0 and lines[start - 1].startswith("#"):  # its header, at column 0
            start -= 1
        points.append(start)
    return points


def _split_cell(
    cell: NotebookNode, graded: list[Graded]
) -> list[tuple[NotebookNode, Graded | None]]:
    lines = cell.source.split("\n")
    points = _split_points(cell, graded)
    pieces: list[tuple[str, Graded | None]] = []
    head = "\n".join(lines[: points[0]]).strip("\n")
    if head.strip():
        pieces.append((head, None))
    for k, g in enumerate(graded):
        end = points[k + 1] if k + 1 < len(points) else len(lines)
        pieces.append(("\n".join(lines[points[k] : end]).strip("\n"), g))
    out = []
    for k, (source, g) in enumerate(pieces):
        if k == 0:
            cell.source = source
            out.append((cell, g))
        else:
            out.append((_new_cell_like(cell, source), g))
    return out


def _canonical_markers(source: str) -> str:
    lines = source.split("\n")
    for s, e in regions(lines):
        lines[s] = _indent_of(lines[s]) + START
        lines[e] = _indent_of(lines[e]) + END
    return "\n".join(lines)


def _with_header(source: str, name: str, notes: list[str], where: str) -> str:
    """The cell starts with exactly `# GRADED FUNCTION: <name>` (check.starter_problems)."""
    canonical = HEADER.format(name=name)
    lines = source.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].strip() == canonical:
        return "\n".join(lines[first:])
    kept = []
    replaced = None
    for line in lines:
        match = _HEADER.match(line)
        if match and replaced is None:
            replaced = line.strip()
            continue
        kept.append(line)
    while kept and not kept[0].strip():
        kept.pop(0)
    if replaced:
        notes.append(f"{where}: header '{replaced}' now reads '{canonical}' (the def's name)")
    else:
        notes.append(f"{where}: added the header '{canonical}'")
    return "\n".join([canonical, *kept])


def tidy_starter(nb: NotebookNode, notes: list[str]) -> NotebookNode:
    """Outputs cleared, nbgrader tests dropped, one graded function per cell with its header."""
    cells: list[NotebookNode] = []
    for index, cell in enumerate(nb.cells):
        if _is_autograder_test(cell):
            notes.append(f"cell {index + 1}: dropped an nbgrader test cell (checks run outside)")
            continue
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
        cell.source = _HIDDEN_TESTS.sub("", cell.source)
        graded = graded_in_cell(cell, index)
        if not graded:
            cells.append(cell)
            continue
        cell.metadata.pop("nbgrader", None)
        pieces = _split_cell(cell, graded) if len(graded) > 1 else [(cell, graded[0])]
        if len(pieces) > 1:
            notes.append(
                f"cell {index + 1}: split into {len(pieces)} cells, one per graded function"
            )
        for piece, g in pieces:
            if g is not None:
                piece.source = _with_header(
                    _canonical_markers(piece.source), g.name, notes, f"cell {index + 1}"
                )
            cells.append(piece)
    nb.cells = cells
    return nb


def derive_blank(solved: NotebookNode, notes: list[str]) -> NotebookNode:
    """A starter made from a solved notebook: regions and header-only functions blanked."""
    blank = copy.deepcopy(solved)
    for index, cell in enumerate(blank.cells):
        if cell.cell_type != "code":
            continue
        graded = graded_in_cell(cell, index)
        cell.source, count = blank_regions(cell.source)
        for g in graded:
            if not g.marked:
                cell.source = blank_function(cell.source, g.name)
                notes.append(f"cell {index + 1}: {g.name} has no markers; its body was emptied")
        if count:
            notes.append(f"cell {index + 1}: {count} solution region(s) blanked")
    return blank


def _cleared(nb: NotebookNode) -> NotebookNode:
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    return out


# ---- datasets -----------------------------------------------------------------------------

_DATA_PATH = re.compile(r"""["'](?:\./)?data/([A-Za-z0-9][A-Za-z0-9._-]*)""")
_URL = re.compile(r"""https?://[^\s'"\\)<>]+""")
_DOWNLOAD_WORDS = re.compile(
    r"wget|curl|urlretrieve|get_file|gdown|download|urlopen|requests\.|read_csv|read_json|"
    r"loadtxt|url",
    re.IGNORECASE,
)
_PAGE = re.compile(r"\.(?:html?|php|aspx?|jsp)$", re.IGNORECASE)
_ABS_PATH = re.compile(r"""(/(?:tmp|home/student)/[A-Za-z0-9._/-]+)""")
_TFDS = re.compile(r"""tfds\.load\(\s*["']([A-Za-z0-9_./:-]+)["']""")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# A file read from the notebook's own folder (`open("./sarcasm.json")`, `pd.read_csv("x.csv")`),
# as DLAI labs do with the files Coursera ships beside them; writes ('w', 'a') are not reads.
_LOCAL_READ = re.compile(
    r"""(?:\bopen|read_csv|read_json|loadtxt|genfromtxt)\(\s*["'](?:\./)?"""
    r"""([A-Za-z0-9][A-Za-z0-9_-]*\.[A-Za-z0-9._-]+)["']\s*(?:,\s*(?:mode\s*=\s*)?["']([a-z+]*)["'])?"""
)
_LOCAL_LITERAL = re.compile(r"""["']\./([A-Za-z0-9][A-Za-z0-9_-]*\.[A-Za-z0-9._-]+)["']""")
_LOCAL_WRITE = re.compile(
    r"""(?:\bopen\(\s*["'](?:\./)?([\w.-]+)["']\s*,\s*(?:mode\s*=\s*)?["'][^"']*[wax]"""
    r"""|\w*output\w*\s*=\s*["'](?:\./)?([\w.-]+)["'])"""
)
# A download left commented out (`# !wget URL`): the lab expects the file beside the notebook.
_COMMENTED_DOWNLOAD = re.compile(r"^\s*#+\s*!?\s*(?:wget|curl)\b.*$", re.MULTILINE)


def _joined_statements(text: str) -> list[str]:
    """Each logical statement as one string (a `!wget` over several lines is one)."""
    lines = text.split("\n")
    return ["\n".join(lines[a:b]) for a, b in statements(lines)]


@dataclass
class DatasetGuess:
    """A file the notebook reads from ./data or downloads: what `adventures data add` needs."""

    name: str
    paths: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def to_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"name": self.name}
        if self.paths:
            spec["paths"] = list(self.paths)
        return spec

    def add_command(self) -> str:
        urls = "".join(f" --url {url}" for url in self.urls)
        return f"adventures data add PATH/TO/{self.name} --name {self.name}{urls}"


def match_store(datasets: list[DatasetGuess], refs: list[Any]) -> list[str]:
    """Rename each guess to the store's dataset that lists one of its URLs (a download is
    answered by URL first), whatever its file name; notes for the ones renamed. `refs` are
    the store's datasets (graders.datasets.DatasetRef: name, urls)."""
    owners = {url: ref.name for ref in refs for url in ref.urls}
    notes = []
    for guess in datasets:
        owner = next((owners[url] for url in guess.urls if url in owners), None)
        if owner and owner != guess.name:
            notes.append(f"dataset {guess.name}: the store holds its URL as {owner}")
            guess.name = owner
    return notes


def guess_datasets(*notebooks: NotebookNode) -> tuple[list[DatasetGuess], list[str]]:
    """Datasets named by `./data/<file>` paths and download URLs (names = file names), and
    notes for what cannot be guessed (tfds.load names)."""
    found: dict[str, DatasetGuess] = {}
    notes: list[str] = []
    code = [
        "\n".join(_strip_comment(line) for line in cell.source.split("\n"))
        for nb in notebooks
        for cell in nb.cells
        if cell.cell_type == "code"
    ]
    for text in code:
        for name in _DATA_PATH.findall(text):
            found.setdefault(name, DatasetGuess(name))
        urls = [
            url
            for statement in _joined_statements(text)
            if _DOWNLOAD_WORDS.search(statement)
            for url in _URL.findall(statement)
        ]
        for url in urls:
            name = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
            if _PAGE.search(name):
                continue
            if not _FILE_NAME.match(name) or "." not in name:
                notes.append(f"download {url}: no file name to store it under; add it by hand")
                continue
            guess = found.setdefault(name, DatasetGuess(name))
            if url not in guess.urls:
                guess.urls.append(url)
        for name in _TFDS.findall(text):
            notes.append(
                f"tfds.load({name!r}): add a prepared TFDS folder with `adventures data add`"
            )
    raw = [cell.source for nb in notebooks for cell in nb.cells if cell.cell_type == "code"]
    for text in raw:
        for line in _COMMENTED_DOWNLOAD.findall(text):
            for url in _URL.findall(line):
                name = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
                if _FILE_NAME.match(name) and "." in name and not _PAGE.search(name):
                    guess = found.setdefault(name, DatasetGuess(name))
                    if url not in guess.urls:
                        guess.urls.append(url)
    for text in code:
        for name, mode in _LOCAL_READ.findall(text):
            if set(mode) & set("wax"):
                continue
            guess = found.setdefault(name, DatasetGuess(name))
            if name not in guess.paths:
                guess.paths.append(name)
    for text in code:
        for name in _LOCAL_LITERAL.findall(text):  # e.g. vocabulary='./imdb_vocab_subwords.txt'
            if name in found and name not in found[name].paths:
                found[name].paths.append(name)
    written = {n for text in code for pair in _LOCAL_WRITE.findall(text) for n in pair if n}
    for name in written & set(found):  # the notebook makes it itself: nothing to put there
        found[name].paths = [p for p in found[name].paths if p != name]
    for text in code:
        for path in _ABS_PATH.findall(text):
            base = path.rstrip("/").rsplit("/", 1)[-1]
            if base in found and path not in found[base].paths and ".." not in path:
                found[base].paths.append(path)
    return list(found.values()), list(dict.fromkeys(notes))


# ---- notebooks without functions (the old lesson repo's Question/Answer pairs) ----------

_YOUR_CODE = re.compile(r"#+[ \t]*your[ \t]+code\b", re.IGNORECASE)
_ASSIGNED = re.compile(r"^([A-Za-z_][\w.\[\]'\", ]*?)\s*(?:=(?!=)|[-+*/]=)")
_PAIR_THRESHOLD = 0.3
_SAFE_CALLS = frozenset(
    {"len", "sorted", "list", "tuple", "set", "str", "int", "float", "round", "abs", "max", "min"}
    | {"sum", "repr", "bool"}
)
_SAFE_METHODS = frozenset(
    {"keys", "values", "items", "get", "index", "count", "lower", "upper", "strip", "split"}
    | {"get_vocabulary", "get_config", "get_weights", "count_params", "numpy", "tolist"}
    | {"reshape", "astype", "sum", "mean", "max", "min", "argmax", "most_common"}
    | {"texts_to_sequences", "sequences_to_texts", "vocabulary_size"}
)
_TRAINING_SAFE_ATTRS = ("shape", "output_shape", "input_shape")


@dataclass
class Printed:
    """A value the solution's cells show (print, a bare last line, model.summary()): recorded as
    an expression check, evaluated after all cells ran."""

    expression: str
    cell: int  # 1-based, in the solution notebook
    how: str = "print"  # print | display | summary


def _lines_of(source: str) -> tuple[list[str], list[str]]:
    """(normalised code lines, coarse keys) of a cell, for pairing a blank's cell with the
    solution's: comments dropped; a key is an assignment's target or a call's head, which a
    `x = # YOUR CODE HERE` line and its answer share."""
    fine: list[str] = []
    for line in source.split("\n"):
        code = " ".join(_strip_comment(line).split())
        if code:
            fine.append(code)
    if not fine:  # a comment-only cell (a licence): its text is what identifies it
        fine = [" ".join(line.split()) for line in source.split("\n") if line.strip()]
    keys = []
    for code in fine:
        match = _ASSIGNED.match(code)
        if match:
            keys.append(match.group(1).replace(" ", "") + "=")
        else:
            keys.append(code.split("(", 1)[0] + ("(" if "(" in code else "")[:60])
    return fine, keys


def _similarity(a: tuple[list[str], list[str]], b: tuple[list[str], list[str]]) -> float:
    import difflib

    fine = difflib.SequenceMatcher(None, a[0], b[0], autojunk=False).ratio()
    coarse = difflib.SequenceMatcher(None, a[1], b[1], autojunk=False).ratio()
    return (fine + coarse) / 2


def pair_cells(blank: NotebookNode, solved: NotebookNode) -> list[tuple[int, int]]:
    """(blank cell index, solution cell index) for code cells that are the same cell: the
    order-keeping alignment of greatest total similarity (a solution may add or drop cells)."""
    bi = [i for i, c in enumerate(blank.cells) if c.cell_type == "code"]
    si = [i for i, c in enumerate(solved.cells) if c.cell_type == "code"]
    bl = [_lines_of(blank.cells[i].source) for i in bi]
    sl = [_lines_of(solved.cells[i].source) for i in si]
    n, m = len(bi), len(si)
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    move = [[0] * (m + 1) for _ in range(n + 1)]  # 1: pair, 2: skip blank, 3: skip solution
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            best[i][j], move[i][j] = best[i - 1][j], 2
            if best[i][j - 1] > best[i][j]:
                best[i][j], move[i][j] = best[i][j - 1], 3
            sim = _similarity(bl[i - 1], sl[j - 1])
            if sim >= _PAIR_THRESHOLD and best[i - 1][j - 1] + sim > best[i][j]:
                best[i][j], move[i][j] = best[i - 1][j - 1] + sim, 1
    matched = []
    i, j = n, m
    while i > 0 and j > 0:
        if move[i][j] == 1:
            matched.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif move[i][j] == 2:
            i -= 1
        else:
            j -= 1
    matched.reverse()
    # Between two matched cells, as many blank cells as solution cells pair in order: a cell
    # holding only `# YOUR CODE HERE` shares no line with its answer.
    pairs = []
    previous = (-1, -1)
    for a, b in [*matched, (n, m)]:
        gap_blank, gap_solution = range(previous[0] + 1, a), range(previous[1] + 1, b)
        if len(gap_blank) == len(gap_solution):
            pairs += zip(gap_blank, gap_solution, strict=True)
        if a < n:
            pairs.append((a, b))
        previous = (a, b)
    return [(bi[a], si[b]) for a, b in pairs]


def member_cells(blank: NotebookNode, solved: NotebookNode) -> list[int]:
    """Solution cells (indices) whose blank asks the member to complete them: the blank's cell
    has a `# YOUR CODE` marker (any case), or its code differs from the solution's."""
    found = []
    for b, s in pair_cells(blank, solved):
        source = blank.cells[b].source
        if (
            _YOUR_CODE.search(source)
            or _lines_of(source)[0] != _lines_of(solved.cells[s].source)[0]
        ):
            found.append(s)
    return found


def _without_shell(source: str) -> str:
    """`_parseable`, and a `!cmd \\` continued over several lines is `pass` on all of them."""
    out: list[str] = []
    continued = False
    for line in source.split("\n"):
        stripped = line.lstrip()
        if continued or stripped.startswith(("!", "%")):
            out.append(_indent_of(line) + "pass" if not continued else "")
            continued = line.rstrip().endswith("\\")
        else:
            out.append(line)
    return "\n".join(out)


def _tree(source: str) -> ast.Module | None:
    import textwrap

    text = _without_shell(source)
    for candidate in (text, textwrap.dedent(text)):
        try:
            return ast.parse(candidate)
        except SyntaxError:
            continue
    return None


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _reads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _writes(stmt: ast.stmt) -> set[str]:
    """Names a statement binds or changes in place (`x.append(...)`, `x[i] = ...`)."""
    out: set[str] = set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, ast.Store):
            root = _root_name(node)
            if root:
                out.add(root)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            root = _root_name(node.func.value)
            if root:
                out.add(root)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
    return out


def _trains(stmt: ast.stmt) -> bool:
    return any(
        isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in ("fit", "fit_generator")
        for n in ast.walk(stmt)
    )


def _safe(node: ast.AST) -> bool:
    """An expression the harness may evaluate again after all cells ran: names, attributes,
    subscripts, arithmetic and a few calls that change nothing (len, .shape, .get_vocabulary())."""
    if isinstance(node, ast.Constant):
        return not isinstance(node.value, bytes)
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Attribute):
        return not node.attr.startswith("_") and _safe(node.value)
    if isinstance(node, ast.Subscript):
        return _safe(node.value) and _safe(node.slice)
    if isinstance(node, ast.Slice):
        return all(p is None or _safe(p) for p in (node.lower, node.upper, node.step))
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_safe(e) for e in node.elts)
    if isinstance(node, ast.UnaryOp):
        return _safe(node.operand)
    if isinstance(node, ast.BinOp):
        return _safe(node.left) and _safe(node.right)
    if isinstance(node, ast.Compare):
        return _safe(node.left) and all(_safe(c) for c in node.comparators)
    if isinstance(node, ast.Call):
        func = node.func
        known = (isinstance(func, ast.Name) and func.id in _SAFE_CALLS) or (
            isinstance(func, ast.Attribute) and func.attr in _SAFE_METHODS and _safe(func.value)
        )
        return (
            known
            and all(_safe(a) and not isinstance(a, ast.Starred) for a in node.args)
            and all(k.arg is not None and _safe(k.value) for k in node.keywords)
        )
    return False


def _summary_of(node: ast.AST) -> str | None:
    """`model` for `model.summary()` (what the notebook shows is the model's layout)."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "summary"
        and isinstance(node.func.value, ast.Name)
        and not node.args
    ):
        return node.func.value.id
    return None


def _shown(stmt: ast.stmt, last: bool) -> list[tuple[ast.expr, str]]:
    """The expressions one top-level statement shows: print()'s arguments, display(x),
    `model.summary()`, or the cell's bare last expression."""
    if not isinstance(stmt, ast.Expr):
        return []
    value = stmt.value
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        if value.func.id in ("print", "display"):
            out = []
            for arg in value.args:
                model = _summary_of(arg)
                if model:
                    out.append((ast.Name(model, ast.Load()), "summary"))
                elif not isinstance(arg, ast.Starred):
                    out.append((arg, "print"))
            return out
    model = _summary_of(value)
    if model:
        return [(ast.Name(model, ast.Load()), "summary")]
    return [(value, "display")] if last else []


def printed_expressions(
    blank: NotebookNode, solved: NotebookNode
) -> tuple[list[Printed], list[int], list[str]]:
    """What the solution shows in the cells the member completes, or in later cells from
    values those cells computed: (expressions, member cell numbers, notes).

    Values that depend on training (a History, weights after fit) are left out, except a
    shape; so are constants, f-strings and expressions that call anything but a few
    functions that change nothing, since the harness evaluates them again after all cells ran.
    """
    members = set(member_cells(blank, solved))
    tainted: set[str] = set()  # names computed (or changed) by the member's code
    trained: set[str] = set()  # names whose value depends on training
    found: dict[str, Printed] = {}
    notes: list[str] = []
    for index, cell in enumerate(solved.cells):
        if cell.cell_type != "code":
            continue
        tree = _tree(cell.source)
        if tree is None:
            if index in members:
                notes.append(f"solution cell {index + 1} does not parse: nothing recorded from it")
            continue
        body = tree.body
        for k, stmt in enumerate(body):
            reads = _reads(stmt)
            for node, how in _shown(stmt, k == len(body) - 1):
                names = _reads(node)
                if not names & tainted or not _safe(node):
                    continue  # a given value: the blank would pass its check untouched
                text = ast.unparse(node)
                if names & trained and how != "summary" and not _shape_or_len(node):
                    notes.append(
                        f"cell {index + 1}: `{text}` depends on training, which grading skips: "
                        "no check"
                    )
                    continue
                found.setdefault(text, Printed(text, index + 1, how))
            writes = _writes(stmt)
            if index in members or reads & tainted:
                tainted |= writes
            if _trains(stmt) or reads & trained:
                trained |= writes
    numbers = sorted(i + 1 for i in members)
    return list(found.values()), numbers, list(dict.fromkeys(notes))


def _shape_or_len(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr in _TRAINING_SAFE_ATTRS
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len"


# ---- the import ---------------------------------------------------------------------------


@dataclass
class Imported:
    """Everything an import decides before the solution runs."""

    slug: str
    starter: NotebookNode
    solution: NotebookNode
    functions: list[str]
    signatures: dict[str, list[str]]
    datasets: list[DatasetGuess]
    spec: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    printed: list[Printed] = field(default_factory=list)
    """A notebook without functions: the values its cells show, recorded as expression checks
    (record.py); empty when there are graded functions."""


def _read(data: bytes, what: str) -> NotebookNode:
    try:
        return read_notebook(data, _READ_LIMITS)
    except NotebookError as exc:
        raise NotebookError(exc.status, exc.code, f"{what}: {exc.message}") from None


def _required_params(nb: NotebookNode, name: str) -> list[str]:
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for d in top_level_defs(cell.source):
            if d.name == name and d.node is not None:
                args = d.node.args
                required = len(args.args) - len(args.defaults)
                return [a.arg for a in args.args[:required]]
    return []


def _boilerplate(cell: NotebookNode) -> bool:
    """A markdown cell that says nothing about the exercise: a Colab badge, a copyright line."""
    text = re.sub(r"<[^>]*>", "", cell.source).strip()
    return not text or (len(text) < 200 and bool(re.search(r"copyright|licen[cs]e", text, re.I)))


def _title(nb: NotebookNode, slug: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown" and not _boilerplate(cell):
            match = re.search(r"^#+\s*(.+)$", cell.source, re.MULTILINE)
            if match:
                title = match.group(1).strip()[:200]
                if len(title) >= 3:
                    return title
    return slug.replace("-", " ").capitalize()


def _refuse(code: str, message: str) -> NotebookError:
    return NotebookError(400, code, message)


def import_exercise(
    slug: str,
    notebook: bytes,
    solution: bytes | None = None,
    *,
    time_limit: int = 180,
    cell_timeout: int = 60,
) -> Imported:
    """Starter, solution and spec (checks still empty) from a blank + solution, or a solution.

    `notebook` is the blank when `solution` is given; alone, it must be solved (with
    markers or headers), and the blank is derived from it. Raises NotebookError (400).
    """
    notes: list[str] = []
    printed: list[Printed] = []
    first = _read(notebook, "the notebook" if solution is None else "the blank")
    if solution is not None:
        solved = _read(solution, "the solution")
        graded = graded_functions(first)
        if not graded and not graded_functions(solved):
            printed, members, found = printed_expressions(first, solved)
            notes += found
            if not printed:
                raise _refuse(
                    "no_graded_cells",
                    "No graded functions in the blank, and no value the solution prints in "
                    "the cells the blank asks to complete (marked '# YOUR CODE HERE'): checks "
                    "call a member's functions, or read what their cells print "
                    "(print(x), print(len(x)), print(x.shape)).",
                )
            shown = ", ".join(str(n) for n in members)
            notes.append(
                f"no graded functions: the member completes solution cell(s) {shown}; "
                f"{len(printed)} value(s) they print become checks"
            )
        elif not graded:
            raise _refuse(
                "no_graded_cells",
                "No graded functions in the blank: checks call the functions a member "
                "writes, so mark each one's cell with '# GRADED FUNCTION: <name>' or put "
                "'### START CODE HERE ###' / '### END CODE HERE ###' in its body.",
            )
        names = [g.name for g in graded]
        if looks_blank(solved) and not looks_blank(first):
            raise _refuse(
                "swapped",
                "The solution looks blank and the blank looks solved: pass the blank first "
                "and the solved notebook with --solution.",
            )
        notes += _solved_regions(first)
        missing = [n for n in names if n not in defined_functions(solved)]
        if missing:
            raise _refuse(
                "solution_lacks_functions",
                f"The solution does not define {', '.join(missing)}, which the blank grades "
                f"({', '.join(names)}): pass the solved copy of this same assignment.",
            )
        starter = copy.deepcopy(first)
    else:
        solved = first
        graded = graded_functions(solved)
        if not graded:
            raise _refuse(
                "no_graded_cells",
                "No graded functions: mark each graded function's cell with a line "
                "'# GRADED FUNCTION: <name>' or put '### START CODE HERE ###' / "
                "'### END CODE HERE ###' in its body. A notebook without functions "
                "(an old lesson's question/answer pair) needs its question notebook too: "
                "pass the question as NOTEBOOK and the answer with --solution.",
            )
        if looks_blank(solved):
            raise _refuse(
                "blank_without_solution",
                "This notebook looks like a blank assignment (every START/END CODE HERE "
                "region is empty or still has None to fill in): pass the solved notebook "
                "too, with --solution SOLVED.",
            )
        names = [g.name for g in graded]
        starter = derive_blank(solved, notes)
    starter = tidy_starter(starter, notes)
    datasets, data_notes = guess_datasets(starter, solved)
    notes += data_notes
    week = re.search(r"c\d+w(\d)", slug)
    prompt = next(
        (
            c.source.strip()
            for c in first.cells
            if c.cell_type == "markdown" and not _boilerplate(c)
        ),
        f"Complete the graded functions: {', '.join(names)}."
        if names
        else "Complete the cells marked `# YOUR CODE HERE`: the checks read what they compute.",
    )
    spec: dict[str, Any] = {
        "slug": slug,
        "title": _title(first, slug),
        "kind": "notebook",
        "week": int(week.group(1)) if week and int(week.group(1)) <= 4 else 0,
        "points": float(len(names) or len(printed)),
        "prompt": prompt[:4000],
        "tags": ["notebook", "imported"],
        "notebook": {
            "starter": STARTER_FILE,
            "solution": SOLUTION_FILE,
            "training": "skip",
            "datasets": [d.to_spec() for d in datasets],
            "time_limit": int(time_limit),
            "cell_timeout": int(cell_timeout),
            "checks": [],
        },
    }
    return Imported(
        slug=slug,
        starter=starter,
        solution=_cleared(solved),
        functions=names,
        signatures={n: _required_params(solved, n) for n in names},
        datasets=datasets,
        spec=spec,
        notes=notes,
        printed=printed,
    )


# ---- writing the exercise ------------------------------------------------------------------


def spec_yaml(spec: dict[str, Any]) -> str:
    """The spec as YAML, with a commented example of a hidden check to add by hand."""
    import yaml

    text = yaml.safe_dump(
        spec, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )
    checks = [c for c in spec.get("notebook", {}).get("checks") or [] if c.get("function")]
    if checks:
        example = dict(checks[0])
        example["name"] = f"{example['function']}: hidden, other inputs"
        example["visibility"] = "hidden"
        shown = yaml.safe_dump(
            [example], sort_keys=False, allow_unicode=True, width=96, default_flow_style=None
        )
        lines = shown.strip("\n").split("\n")
        if len(lines) > 14:
            lines = [*lines[:14], "  ..."]
        text += (
            "# Add hidden checks: members see a hidden check's result, never its inputs. Copy a\n"
            "# check above under notebook.checks, give it new inputs and visibility: hidden, e.g.\n"
            + "".join(f"#   {line}\n" for line in lines)
        )
    return text


def write_exercise(folder: Path, imported: Imported, spec: dict[str, Any]) -> list[Path]:
    """Write starter.ipynb, solution.ipynb and exercise.yaml into folder; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / STARTER_FILE, folder / SOLUTION_FILE, folder / "exercise.yaml"]
    nbformat.write(imported.starter, str(paths[0]))
    nbformat.write(imported.solution, str(paths[1]))
    paths[2].write_text(spec_yaml(spec), encoding="utf-8")
    return paths


def import_notebook(nb_bytes: bytes, slug: str) -> tuple[NotebookNode, dict[str, Any]]:
    """(starter, spec skeleton) from a solved notebook, without running it.

    The skeleton has one argument-less check per graded function; `adventures exercises
    import` replaces them with the calls recorded from the solution's own run.
    """
    imported = import_exercise(slug, nb_bytes)
    spec = copy.deepcopy(imported.spec)
    spec["notebook"]["checks"] = [
        {
            "name": f"{name}: TODO describe this check",
            "function": name,
            "args": [],
            "kwargs": {},
            "compare": "exact",
            "points": 1,
            "visibility": "visible",
            "hint": f"TODO: call with arguments for ({', '.join(imported.signatures[name])}).",
        }
        for name in imported.functions
    ]
    return imported.starter, spec
