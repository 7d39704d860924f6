"""Near-identical graded functions between members, for the instructor to look at.

Each `# GRADED FUNCTION: name` cell is parsed with ast, stripped of comments
and docstrings, its local names renamed in order of appearance (v0, v1, ...)
and turned back into a token sequence, so renaming variables or reformatting
changes nothing. What the starter notebook already contains is taken out
first, so a shared skeleton does not make everyone look alike. Candidate
pairs come from winnowed k-gram fingerprints (as MOSS does); each candidate
is then scored with difflib's ratio.
"""

from __future__ import annotations

import ast
import difflib
import io
import json
import tokenize
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from graders.markers import graded_name
from server.extensions import db
from server.models.exercise import Exercise
from server.models.submission import Submission
from server.models.user import User
from server.services import exercises as catalog

K = 5  # tokens per k-gram
WINDOW = 4  # winnowing window
MIN_TOKENS = 8  # shorter own code is too small to judge
SKELETON_BLOCK = 4  # starter runs at least this long are taken out
SMALL_GROUP = 60  # up to this many members every pair is compared


def graded_functions(notebook: bytes | str) -> dict[str, str]:
    """{function name: cell source} for the cells whose first line names a graded function."""
    try:
        data = json.loads(notebook)
    except (ValueError, TypeError):
        return {}
    out: dict[str, str] = {}
    for cell in data.get("cells", []) if isinstance(data, dict) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        first = next((line for line in source.splitlines() if line.strip()), "")
        name = graded_name(first)
        if name:
            out[name] = source
    return out


class _Canonical(ast.NodeTransformer):
    """Rename every name the code binds (arguments, assignments, loop and comprehension targets)."""

    def __init__(self, bound: set[str]) -> None:
        self.bound = bound
        self.names: dict[str, str] = {}

    def _canon(self, name: str) -> str:
        if name not in self.bound:
            return name
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self._canon(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._canon(node.arg)
        node.annotation = None
        return node

    def visit_keyword(self, node: ast.keyword) -> ast.AST:
        self.generic_visit(node)  # keyword names belong to the callee: kept
        return node


def _bound_names(tree: ast.AST) -> set[str]:
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
    return bound


def _drop_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        kept = [
            stmt
            for stmt in body
            if not (
                isinstance(stmt, ast.Expr)
                and isinstance(stmt.value, ast.Constant)
                and isinstance(stmt.value.value, str)
            )
        ]
        node.body = kept or [ast.Pass()]


def _ordered(tree: ast.AST) -> list[ast.AST]:
    """Nodes in source order, so names are numbered as a reader meets them."""
    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Name | ast.arg)]
    return sorted(nodes, key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))


def normalise(source: str) -> list[str]:
    """The token sequence of the code with names, comments, docstrings and layout normalised."""
    source = "\n".join(
        line for line in source.splitlines() if not line.lstrip().startswith(("!", "%"))
    )
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return _raw_tokens(source)
    _drop_docstrings(tree)
    canon = _Canonical(_bound_names(tree))
    for node in _ordered(tree):
        canon._canon(node.id if isinstance(node, ast.Name) else node.arg)
    tree = canon.visit(tree)
    return _raw_tokens(ast.unparse(tree))


def _raw_tokens(code: str) -> list[str]:
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.ENDMARKER}
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type in skip:
                continue
            if tok.type == tokenize.INDENT:
                out.append("<indent>")
            elif tok.type == tokenize.DEDENT:
                out.append("<dedent>")
            else:
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


def own_code(tokens: list[str], skeleton: list[str] | None) -> list[str]:
    """The tokens left after taking out long runs that the starter skeleton already has."""
    if not skeleton:
        return tokens
    matcher = difflib.SequenceMatcher(None, skeleton, tokens, autojunk=False)
    drop = [False] * len(tokens)
    for block in matcher.get_matching_blocks():
        if block.size >= SKELETON_BLOCK:
            for i in range(block.b, block.b + block.size):
                drop[i] = True
    return [t for t, d in zip(tokens, drop, strict=True) if not d]


def fingerprints(tokens: list[str]) -> set[int]:
    """Winnowed k-gram hashes: the minimum of each window, a robust sample of the code."""
    grams = [hash(tuple(tokens[i : i + K])) for i in range(max(0, len(tokens) - K + 1))]
    if len(grams) <= WINDOW:
        return set(grams)
    return {min(grams[i : i + WINDOW]) for i in range(len(grams) - WINDOW + 1)}


def ratio(a: list[str], b: list[str]) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


@dataclass
class _Member:
    user_id: int
    name: str
    username: str
    submission_id: int
    functions: dict[str, list[str]]


def _skeleton(exercise: Exercise) -> dict[str, list[str]]:

    notebook_spec = (exercise.spec or {}).get("notebook") or {}
    path = catalog.EXERCISES_DIR / exercise.slug / notebook_spec.get("starter", "starter.ipynb")
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    return {name: normalise(src) for name, src in graded_functions(data).items()}


def _latest_notebooks(exercise: Exercise) -> list[tuple[int, int, bytes]]:
    """(user_id, submission_id, notebook) of each member's latest notebook submission."""
    latest = (
        select(func.max(Submission.id))
        .where(Submission.exercise_id == exercise.id, Submission.notebook.is_not(None))
        .group_by(Submission.user_id)
    )
    rows = db.session.execute(
        select(Submission.user_id, Submission.id, Submission.notebook).where(
            Submission.id.in_(latest)
        )
    )
    return [(u, s, nb) for u, s, nb in rows]


def pairs(exercise: Exercise, threshold: float = 0.8) -> list[dict[str, Any]]:
    """Pairs of members whose graded functions are near-identical, most similar first."""
    skeleton = _skeleton(exercise)
    rows = _latest_notebooks(exercise)
    names = {
        u.id: u
        for u in db.session.scalars(select(User).where(User.id.in_([r[0] for r in rows] or [0])))
    }
    members: list[_Member] = []
    for user_id, sub_id, notebook in rows:
        functions = {}
        for fname, source in graded_functions(notebook).items():
            tokens = own_code(normalise(source), skeleton.get(fname))
            if len(tokens) >= MIN_TOKENS:
                functions[fname] = tokens
        if functions and user_id in names:
            user = names[user_id]
            members.append(_Member(user_id, user.display_name, user.username, sub_id, functions))
    scored = (_score(members[i], members[j]) for i, j in _candidates(members))
    found = [pair for pair in scored if pair["score"] >= threshold]
    return sorted(found, key=lambda p: (-p["score"], p["a"]["name"], p["b"]["name"]))


def _candidates(members: list[_Member]) -> list[tuple[int, int]]:
    """Every pair in a small group; in a large one, pairs sharing a third of their fingerprints.

    Fingerprints that most members share (a common idiom) are not evidence and are ignored.
    """
    n = len(members)
    if n <= SMALL_GROUP:
        return [(i, j) for i in range(n) for j in range(i + 1, n)]
    prints = [
        {(fname, fp) for fname, toks in m.functions.items() for fp in fingerprints(toks)}
        for m in members
    ]
    index: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, fps in enumerate(prints):
        for fp in fps:
            index[fp].append(i)
    shared: dict[tuple[int, int], int] = defaultdict(int)
    common = max(2, n // 2)
    for holders in index.values():
        if len(holders) > common:
            continue
        for a in range(len(holders)):
            for b in range(a + 1, len(holders)):
                shared[(holders[a], holders[b])] += 1
    return [
        (i, j)
        for (i, j), count in shared.items()
        if count / (min(len(prints[i]), len(prints[j])) or 1) >= 1 / 3
    ]


def _score(a: _Member, b: _Member) -> dict[str, Any]:
    per_function = {}
    weighted = total = 0.0
    for fname in sorted(set(a.functions) & set(b.functions)):
        r = ratio(a.functions[fname], b.functions[fname])
        size = (len(a.functions[fname]) + len(b.functions[fname])) / 2
        per_function[fname] = round(r, 3)
        weighted += r * size
        total += size
    return {
        "score": round(weighted / total, 3) if total else 0.0,
        "functions": per_function,
        "a": {
            "user_id": a.user_id,
            "name": a.name,
            "username": a.username,
            "submission_id": a.submission_id,
        },
        "b": {
            "user_id": b.user_id,
            "name": b.name,
            "username": b.username,
            "submission_id": b.submission_id,
        },
    }
