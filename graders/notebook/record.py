"""Checks recorded from the solution's own run: each call the notebook makes becomes a check.

The solution notebook runs once in the sandbox, sanitised and limited exactly as a
member's upload (pipeline._sanitise / _limits_for / _run, so `training: skip` and the
datasets apply). Three kinds of cell are added to it, all trusted instructor code:

* first, a setup cell that defines the recorder (with graders/codec.py's source, the
  same encoder the harness uses);
* after each cell that defines a graded function, one line that wraps the function,
  so every call made by the notebook's own cells (not calls made from inside another
  graded function) is seen: its arguments are encoded before the call, and the kind
  of its result after it;
* nothing at the end: the recorder's `dump()` is the one "check" of this run, so the
  harness calls it and writes its JSON text to the nonce-checked result file. That
  channel is the one grading already trusts, is not cut by the notebook's output cap
  (print() would be), and needs no file the sealed run folder cannot take.

An argument is kept as a literal when it encodes to plain data within MAX_ARG_BYTES
(and is no TensorFlow object, whose type a literal would change); otherwise it is
recorded as {'$global': name} when a global variable of the notebook *is* that object
at the end of the run (the harness resolves it in the member's namespace); otherwise
the call is skipped. At most CALLS_PER_FUNCTION distinct calls per function are kept.
Reference values are not recorded: the grader computes them by running the solution
with the harness (spec `solution:`), the same path as a member's notebook.

A notebook without functions (the old lesson repo's Question/Answer pairs, whose members fill
`# YOUR CODE HERE` spots in straight-line cells) gets expression checks instead: the importer
lists what the solution's cells print (importer.printed_expressions), and the one "check" of
the run measures each of those expressions once every cell ran (ok, kind, encoded size; for
one too big, its shape or length and first items). Each becomes a check with `expression:`.
"""

from __future__ import annotations

import ast
import copy
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from graders import codec
from graders.notebook.importer import Imported, Printed, top_level_defs
from graders.notebook.limits import Limits
from graders.notebook.sandbox import SandboxPool
from graders.spec import ExerciseSpec

MAX_ARG_BYTES = 64 * 1024
CALLS_PER_FUNCTION = 2
RECORD_CHECK = "__record__"
EXTRA_CHECK = "__record_uncalled__"
DUMP_NAME = "__adventures_recorded__"
EXTRA_NAME = "__adventures_recorded_uncalled__"
RECORDER_NAME = "__adventures_recorder__"
EXPRESSIONS_CHECK = "__record_expressions__"
EXPRESSIONS_NAME = "__adventures_recorded_expressions__"
PROBED_TYPES = (
    "Tokenizer",
    "TextVectorization",
    "StringLookup",
    "IntegerLookup",
    "DatasetV2",
    "Model",
    "History",
)
"""Class names (anywhere in the result's MRO) whose checks compare with `probe`."""
TEXT_TYPES = ("Tokenizer", "TextVectorization", "StringLookup", "IntegerLookup")

_KERNEL_SOURCE = r'''
def __adventures_make_recorder__(codec_source, max_arg_bytes, per_function, user_ns,
                                 probed_types, text_types):
    """Wraps graded functions and keeps their first calls (see graders/notebook/record.py)."""
    import functools
    import inspect
    import json
    import sys

    codec = {"__name__": "adventures_recorder_codec"}
    exec(compile(codec_source, "<adventures codec>", "exec"), codec)
    encode = codec["encode"]
    probed, texty = set(probed_types), set(text_types)
    frameworks = ("tensorflow", "keras", "tf_keras", "keras_nlp", "keras_hub", "pandas")
    state = {"depth": 0}
    calls, keys, objects, skipped, originals = {}, {}, {}, {}, {}

    def framework(value, depth=0):
        if (type(value).__module__ or "").split(".")[0] in frameworks:
            return True
        if depth < 3 and isinstance(value, (list, tuple, set, frozenset)):
            return any(framework(v, depth + 1) for v in list(value)[:50])
        if depth < 3 and isinstance(value, dict):
            return any(framework(v, depth + 1) for v in list(value.values())[:50])
        return False

    def opaque(encoded):
        stack = [encoded]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                if "__repr__" in item or "__keras_model__" in item:
                    return True
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
        return False

    def names_of(obj):
        return [
            name
            for name, value in list(user_ns.items())
            if value is obj and not name.startswith("_") and name not in ("In", "Out")
        ]

    def entry(value):
        why = "type"
        if not framework(value):
            try:
                encoded = encode(value, max_bytes=max_arg_bytes)
                if opaque(encoded):
                    raise TypeError("no literal")
                if len(json.dumps(encoded)) <= max_arg_bytes:
                    return {"literal": encoded}
                why = "size"
            except TypeError:
                pass
            except Exception:
                why = "size"
        names = names_of(value)
        if names:
            objects[id(value)] = value
            return {"global": names, "id": id(value), "why": why}
        return None

    def describe_call(args, kwargs):
        out_args, out_kwargs = [], {}
        for value in args:
            item = entry(value)
            if item is None:
                return None
            out_args.append(item)
        for key, value in kwargs.items():
            item = entry(value)
            if item is None:
                return None
            out_kwargs[key] = item
        return {"args": out_args, "kwargs": out_kwargs}

    def mro_names(value):
        return {cls.__name__ for cls in type(value).__mro__}

    def kind_of(value, depth=0):
        if mro_names(value) & probed:
            return "probe"
        if depth == 0 and isinstance(value, (tuple, list)) and value:
            kinds = {kind_of(v, 1) for v in list(value)[:16]}
            return next((k for k in ("probe", "allclose") if k in kinds), "exact")
        np = sys.modules.get("numpy")
        if isinstance(value, float) or (np is not None and isinstance(value, np.floating)):
            return "allclose"
        dtype = getattr(value, "dtype", None)
        if dtype is not None:
            if getattr(dtype, "kind", None) in ("f", "c") or getattr(dtype, "is_floating", False):
                return "allclose"
        return "exact"

    def texts_of(args, kwargs, result):
        """Up to 3 distinct strings for a text probe: from the call, else the vocabulary."""
        found = []

        def visit(value, depth):
            if len(found) >= 3:
                return
            if isinstance(value, str):
                if value.strip() and value[:200] not in found:
                    found.append(value[:200])
            elif depth < 2 and isinstance(value, (list, tuple)):
                for item in list(value)[:50]:
                    visit(item, depth + 1)

        for value in [*args, *kwargs.values()]:
            visit(value, 0)
        if found:
            return found
        try:
            if callable(getattr(result, "get_vocabulary", None)):
                words = [w for w in result.get_vocabulary() if isinstance(w, str) and w.strip()]
            else:
                index = getattr(result, "word_index", None) or {}
                words = [w for w in index if isinstance(w, str)]
        except Exception:
            return []
        words = [w for w in words if w not in ("[UNK]", "<OOV>")][:8]
        if "Lookup" in type(result).__name__:
            return words[:3]
        return [" ".join(words[:6])] if words else []

    def make(name, function):
        @functools.wraps(function)
        def recorded(*args, **kwargs):
            call = None
            if (
                state["depth"] == 0
                and len(calls.get(name, ())) < per_function
                and skipped.get(name, 0) < 20
            ):
                try:
                    call = describe_call(args, kwargs)
                except Exception:
                    call = None
                if call is None:
                    skipped[name] = skipped.get(name, 0) + 1
            state["depth"] += 1
            try:
                result = function(*args, **kwargs)
            finally:
                state["depth"] -= 1
            if call is not None:
                try:
                    key = json.dumps([call["args"], call["kwargs"]], sort_keys=True, default=str)
                    if key not in keys.setdefault(name, set()):
                        keys[name].add(key)
                        call["kind"] = kind_of(result)
                        call["type"] = type(result).__name__
                        if mro_names(result) & texty:
                            call["texts"] = texts_of(args, kwargs, result)
                        calls.setdefault(name, []).append(call)
                except Exception:
                    pass
            return result

        recorded.__adventures_recorded__ = True
        return recorded

    def wrap(namespace, names):
        for name in names:
            function = namespace.get(name)
            if callable(function) and not getattr(function, "__adventures_recorded__", False):
                originals[name] = function
                namespace[name] = make(name, function)

    def resolve(item):
        if "literal" in item:
            return item
        obj = objects.get(item["id"])
        for name in item["global"]:
            if user_ns.get(name) is obj:
                return {"global": name, "why": item["why"]}
        now = names_of(obj)
        return {"global": now[0], "why": item["why"]} if now else None

    def dump():
        out, dropped = [], []
        for name in originals:
            for call in calls.get(name) or []:
                args = [resolve(item) for item in call["args"]]
                kwargs = {key: resolve(item) for key, item in call["kwargs"].items()}
                if any(a is None for a in args) or any(v is None for v in kwargs.values()):
                    dropped.append(name)
                    continue
                out.append(dict(call, function=name, args=args, kwargs=kwargs))
        return json.dumps(
            {"calls": out, "dropped": dropped, "skipped": skipped, "wrapped": list(originals)},
            allow_nan=False,
        )

    def uncalled():
        """Graded functions the notebook never called that need no argument: called once now
        (a separate check, after dump(), so a slow one cannot lose the recorded calls)."""
        out = []
        for name, function in originals.items():
            if calls.get(name) or skipped.get(name):
                continue
            try:
                parameters = inspect.signature(function).parameters.values()
            except (TypeError, ValueError):
                continue
            if any(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                   for p in parameters):
                continue
            try:
                result = function()
            except Exception:
                continue
            out.append({"function": name, "args": [], "kwargs": {}, "kind": kind_of(result),
                        "type": type(result).__name__, "called_by": "recorder"})
        return json.dumps({"calls": out}, allow_nan=False)

    def measure(expression):
        """What an expression check needs to know about one value the notebook shows."""
        try:
            value = eval(compile(expression, "<check expression>", "eval"), user_ns)
        except Exception as exc:
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        names = mro_names(value)
        info = {"ok": True, "type": type(value).__name__, "kind": kind_of(value)}
        if value is None:
            info["none"] = True
        if "History" in names:
            info["history"] = True
        if "Model" in names or "Sequential" in names:
            info["model"] = True
        if names & texty:
            info["texts"] = texts_of((), {}, value)
        if info["kind"] == "probe":
            return info
        try:
            encoded = encode(value, max_bytes=max_arg_bytes)
            info["bytes"] = len(json.dumps(encoded))
            info["big"] = info["bytes"] > max_arg_bytes
            info["opaque"] = opaque(encoded)
        except Exception:
            info["big"] = True
        return info

    def expressions(wanted):
        """Each [expression, fallbacks] measured; a fallback only when the value is too big."""
        out = {}
        for expression, fallbacks in wanted:
            info = out[expression] = measure(expression)
            if info.get("big"):
                for other in fallbacks:
                    if other not in out:
                        out[other] = measure(other)
        return json.dumps(out, allow_nan=False)

    return {"wrap": wrap, "dump": dump, "uncalled": uncalled, "expressions": expressions}
'''


def setup_cell_source(
    max_arg_bytes: int = MAX_ARG_BYTES,
    per_function: int = CALLS_PER_FUNCTION,
    expressions: list[tuple[str, list[str]]] | None = None,
) -> str:
    """The first cell of the recording run: defines the recorder and the dump "check" (and,
    for a notebook without functions, the one that measures the expressions it shows)."""
    codec_source = Path(codec.__file__).read_text(encoding="utf-8")
    wanted = [[e, list(f)] for e, f in expressions or []]
    return (
        f"{_KERNEL_SOURCE}\n"
        f"{RECORDER_NAME} = __adventures_make_recorder__(\n"
        f"    {codec_source!r}, {max_arg_bytes!r}, {per_function!r}, globals(),\n"
        f"    {PROBED_TYPES!r}, {TEXT_TYPES!r})\n"
        f"{DUMP_NAME} = {RECORDER_NAME}['dump']\n"
        f"{EXTRA_NAME} = {RECORDER_NAME}['uncalled']\n"
        f"{EXPRESSIONS_NAME} = lambda: {RECORDER_NAME}['expressions']({wanted!r})\n"
        "del __adventures_make_recorder__\n"
    )


def instrument(
    nb: NotebookNode,
    functions: list[str],
    expressions: list[tuple[str, list[str]]] | None = None,
) -> tuple[NotebookNode, list[int | None]]:
    """The notebook with the recorder's setup cell first and a wrap line after each cell that
    defines a graded function (a later redefinition is wrapped again); and, per cell of the
    result, the 1-based number of the notebook's own cell it is (None for an added one)."""
    wanted = set(functions)
    cells = [nbformat.v4.new_code_cell(setup_cell_source(expressions=expressions))]
    origin: list[int | None] = [None]
    for number, cell in enumerate(nb.cells, 1):
        cells.append(cell)
        origin.append(number)
        if cell.cell_type != "code":
            continue
        defined = [d.name for d in top_level_defs(cell.source) if d.name in wanted]
        if defined:
            cells.append(
                nbformat.v4.new_code_cell(f"{RECORDER_NAME}['wrap'](globals(), {defined!r})")
            )
            origin.append(None)
    return nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata), origin


# ---- recorded calls -> checks (trusted side, pure) ----------------------------------------


def _yaml_plain(value: Any) -> bool:
    """Does the value survive YAML exactly (no tuples, arrays, sets, bytes, NaN)?"""
    if value is None or isinstance(value, (bool, str)):
        return True
    if isinstance(value, int):
        return type(value) is int
    if isinstance(value, float):
        return type(value) is float and math.isfinite(value)
    if type(value) is list:
        return all(_yaml_plain(v) for v in value)
    if type(value) is dict:
        return all(isinstance(k, str) and _yaml_plain(v) for k, v in value.items())
    return False


def py_expr(value: Any) -> str:
    """Python source that rebuilds a decoded literal exactly (numpy as np)."""
    if value is None or isinstance(value, (bool, int, str, bytes)):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "float('nan')"
        if math.isinf(value):
            return "float('inf')" if value > 0 else "-float('inf')"
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(py_expr(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(py_expr(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, frozenset):
        return "frozenset({" + ", ".join(py_expr(v) for v in value) + "})"
    if isinstance(value, set):
        return "{" + ", ".join(py_expr(v) for v in value) + "}" if value else "set()"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_expr(k)}: {py_expr(v)}" for k, v in value.items()) + "}"
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None and hasattr(value, "tolist"):
        data = py_expr(value.tolist())
        return f"np.array({data}, dtype={str(dtype)!r}).reshape({tuple(int(n) for n in shape)!r})"
    raise ValueError(f"cannot write a {type(value).__name__} as Python source")


def check_from_call(call: dict[str, Any], number: int) -> dict[str, Any]:
    """One recorded call as a spec check (visible, 1 point, compare from the result's kind)."""
    function = str(call["function"])
    setup: list[str] = []
    names: list[str] = []

    def arg(item: dict[str, Any], label: str) -> Any:
        if "global" in item:
            names.append(item["global"])
            return {"$global": item["global"]}
        value = codec.decode(item["literal"])
        if _yaml_plain(value):
            return value
        setup.append(f"{label} = {py_expr(value)}")
        return {"$var": label}

    args = [arg(item, f"arg{i}") for i, item in enumerate(call.get("args") or [])]
    kwargs = {k: arg(item, f"kwarg_{k}") for k, item in (call.get("kwargs") or {}).items()}
    how = "with no arguments" if call.get("called_by") == "recorder" else "as the notebook calls it"
    check: dict[str, Any] = {
        "name": f"{function}: {how} ({number})",
        "function": function,
        "args": args,
        "kwargs": kwargs,
    }
    if setup:
        needs_numpy = any("np.array(" in line for line in setup)
        check["setup"] = "\n".join((["import numpy as np"] if needs_numpy else []) + setup) + "\n"
    if names:
        check["globals"] = list(dict.fromkeys(names))
    kind = call.get("kind") if call.get("kind") in ("probe", "allclose", "exact") else "exact"
    check["compare"] = kind
    if kind == "probe" and call.get("texts"):
        check["probe"] = {"texts": [str(t) for t in call["texts"]][:3]}
    check["points"] = 1
    check["visibility"] = "visible"
    hint = _HINTS.get(kind, "")
    if names:
        shown = ", ".join(f"`{n}`" for n in names)
        hint += (
            f" It is called with your notebook's own {shown}, as it is once all your cells "
            "ran: the cells that build it must run without errors."
        )
    if hint.strip():
        check["hint"] = hint.strip()
    return check


_HINTS = {
    "probe": "This check reads the object your function returns (its settings, vocabulary, "
    "and what it gives for sample inputs) and compares that with the solution's.",
    "allclose": "Numbers are compared within a small tolerance: check shapes and dtypes first.",
}


def _bulky(call: dict[str, Any]) -> bool:
    """Does the call pass a global only because it is too big for a literal (a whole corpus)?"""
    items = [*(call.get("args") or []), *(call.get("kwargs") or {}).values()]
    return any(isinstance(i, dict) and i.get("why") == "size" for i in items)


def checks_from_calls(calls: list[dict[str, Any]], functions: list[str]) -> list[dict[str, Any]]:
    """Checks in the order of the graded functions, numbered per function.

    When a function has a call on small inputs, a call on a whole data set is left out: it
    would test the same code again at the cost of a second pass over the data (and its memory)
    in every grade, on both the member's and the solution's side.
    """
    checks = []
    for function in functions:
        mine = [c for c in calls if c.get("function") == function][:CALLS_PER_FUNCTION]
        if any(not _bulky(c) for c in mine):
            mine = [c for c in mine if not _bulky(c)]
        for number, call in enumerate(mine, 1):
            checks.append(check_from_call(call, number))
    return checks


# ---- a notebook without functions: the values its cells show -----------------------------

FALLBACK_HEAD = 3
DICT_HEAD = 10


def fallbacks(expression: str) -> list[str]:
    """Smaller expressions for a value too big to compare whole: its shape or length, and its
    first items (`x.shape`, `len(x)`, `x[:3]`, `list(x.items())[:10]`)."""
    node = ast.parse(expression, mode="eval").body
    whole = copy.deepcopy(node)
    return [
        ast.unparse(ast.Attribute(whole, "shape", ast.Load())),
        ast.unparse(ast.Call(ast.Name("len", ast.Load()), [whole], [])),
        ast.unparse(ast.Subscript(whole, ast.Slice(upper=ast.Constant(FALLBACK_HEAD)), ast.Load())),
        ast.unparse(
            ast.Subscript(
                ast.Call(
                    ast.Name("list", ast.Load()),
                    [ast.Call(ast.Attribute(whole, "items", ast.Load()), [], [])],
                    [],
                ),
                ast.Slice(upper=ast.Constant(DICT_HEAD)),
                ast.Load(),
            )
        ),
    ]


def _small(info: dict[str, Any] | None) -> bool:
    return bool(
        info
        and info.get("ok")
        and not info.get("none")
        and not info.get("big")
        and not info.get("opaque")
        and not info.get("history")
    )


def expression_check(expression: str, info: dict[str, Any], name: str) -> dict[str, Any]:
    """One measured expression as a spec check (visible, 1 point, compare from its kind)."""
    kind = info.get("kind") if info.get("kind") in ("probe", "allclose", "exact") else "exact"
    check: dict[str, Any] = {"name": name, "expression": expression}
    if kind == "exact" and info.get("type") == "str":
        kind = "text"  # whitespace and case do not decide a sentence
    check["compare"] = kind
    hint = (
        f"This check evaluates `{expression}` in your notebook once all its cells ran and "
        "compares it with the solution's value (the cell's expected output shows it)."
    )
    if kind == "probe" and info.get("model"):
        check["probe"] = {"fields": ["output_shape"]}
        hint = (
            f"This check reads `{expression}`'s output shape (built first if needed) and "
            "compares it with the solution's; the layers in between are yours to choose."
        )
    elif kind == "probe" and info.get("texts"):
        check["probe"] = {"texts": [str(t) for t in info["texts"]][:3]}
    check["points"] = 1
    check["visibility"] = "visible"
    check["hint"] = hint
    return check


def checks_from_expressions(
    printed: list[Printed], measured: dict[str, Any], failed_cells: set[int] | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Checks for the values the solution showed, in notebook order; and notes for those left
    out (shown by a cell that raised in the solution's run, an error, None, a History, an
    object that cannot be compared) or cut down (too big: its shape or length and first items
    instead)."""
    checks: list[dict[str, Any]] = []
    notes: list[str] = []
    seen: set[str] = set()
    failed_cells = failed_cells or set()

    def add(expression: str, info: dict[str, Any], name: str) -> None:
        if expression not in seen:
            seen.add(expression)
            checks.append(expression_check(expression, info, name))

    for item in printed:
        expr = item.expression
        info = measured.get(expr)
        where = f"cell {item.cell}: `{expr}`"
        if item.cell in failed_cells:
            notes.append(f"{where}: that cell raised in the solution's run, so no check")
            continue
        if not isinstance(info, dict) or not info.get("ok"):
            why = info.get("error") if isinstance(info, dict) else "not evaluated"
            notes.append(f"{where} could not be read after the solution ran ({why}): no check")
            continue
        if info.get("history"):
            notes.append(f"{where} is a training History: no check")
            continue
        if info.get("none"):
            continue  # print(model.summary()) and friends: nothing to compare
        if item.how == "summary":
            if info.get("model"):
                add(expr, info, f"{expr}: output shape, as {expr}.summary() shows it")
            continue
        if info.get("kind") == "probe" or _small(info):
            add(expr, info, f"{expr}: as the notebook prints it")
            continue
        if info.get("opaque"):
            notes.append(f"{where} is a {info.get('type')} that cannot be compared: no check")
            continue
        smaller = fallbacks(expr)
        shape, length, head, items = (measured.get(e) for e in smaller)
        picked = [
            e
            for e, i in ((smaller[0], shape), (smaller[1], length))
            if _small(i) and not any(x in seen for x in smaller[:2])
        ][:1]
        picked += [e for e, i in ((smaller[2], head), (smaller[3], items)) if _small(i)][:1]
        for other in picked:
            add(other, measured[other], f"{other}: from {expr}, as the notebook prints it")
        notes.append(
            f"{where} is too big to compare whole ({info.get('type')}): "
            + (f"checks {', '.join(f'`{e}`' for e in picked)} instead" if picked else "no check")
        )
    return checks, notes


# ---- the run --------------------------------------------------------------------------------


@dataclass
class Recording:
    """What the solution's run gave: checks, and what the instructor should know."""

    checks: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    problem: str | None = None
    seconds: float = 0.0


def _spec_for_run(imported: Imported) -> ExerciseSpec:
    """The exercise's spec with the recorder's dumps as its only checks."""
    data = json.loads(json.dumps(imported.spec))
    if imported.printed:
        data["notebook"]["checks"] = [
            {"name": EXPRESSIONS_CHECK, "function": EXPRESSIONS_NAME, "compare": "exact"}
        ]
    else:
        data["notebook"]["checks"] = [
            {"name": RECORD_CHECK, "function": DUMP_NAME, "compare": "exact", "points": 1},
            {"name": EXTRA_CHECK, "function": EXTRA_NAME, "compare": "exact", "points": 1},
        ]
    return ExerciseSpec.model_validate(data)


def _dumped(outcome: Any) -> dict[str, Any] | None:
    if outcome is None or not outcome.ok or not isinstance(outcome.value, str):
        return None
    try:
        value = json.loads(outcome.value)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def record_checks(
    imported: Imported,
    folder: Path,
    *,
    pool: SandboxPool | None = None,
    limits: Limits | None = None,
    datasets_root: Path | None = None,
) -> Recording:
    """Run the solution once in the sandbox and turn its calls of graded functions into checks.

    `datasets_root` is the dataset store the spec's datasets come from (as in grading).
    """
    from graders.notebook import pipeline
    from graders.notebook.harness import parse_results
    from graders.notebook.sandbox import default_pool

    spec = _spec_for_run(imported)
    assert spec.notebook is not None
    recording = Recording()
    limits = pipeline._limits_for(spec, limits)
    notes: list[str] = []
    nb = pipeline._sanitise(spec, copy.deepcopy(imported.solution), notes)
    wanted = [(p.expression, fallbacks(p.expression)) for p in imported.printed]
    nb, origin = instrument(nb, imported.functions, wanted)
    report, raw, nonce, failure = pipeline._run(
        spec,
        Path(folder),
        nb,
        limits,
        None,
        pool or default_pool(),
        spec.notebook.checks,
        datasets_root=datasets_root,
    )
    recording.notes.extend(notes)
    failed_cells: set[int] = set()
    if report is not None:
        recording.seconds = report.seconds
        recording.notes.extend(report.notes)
        for f in report.failures:
            number = origin[f.number - 1] if 0 < f.number <= len(origin) else None
            where = f"cell {number}" if number else "the recorder"
            recording.failures.append(f"{where} raised {f.ename}: {f.evalue[:200]}")
            if number:
                failed_cells.add(number)
    if failure:
        recording.problem = failure
        return recording
    wanted = EXPRESSIONS_CHECK if imported.printed else RECORD_CHECK
    outcomes = parse_results(raw, nonce, {wanted, EXTRA_CHECK}, max_value_bytes=limits.value_bytes)
    dumped = _dumped(outcomes.get(wanted))
    if dumped is None:
        outcome = outcomes.get(wanted)
        why = pipeline._not_run_reason(report) if outcome is None else outcome.message
        recording.problem = f"the recorder gave nothing back: {why}"
        return recording
    if imported.printed:
        recording.checks, found = checks_from_expressions(imported.printed, dumped, failed_cells)
        recording.notes.extend(found)
        return recording
    extra = _dumped(outcomes.get(EXTRA_CHECK)) or {}
    calls = [
        c
        for c in [*(dumped.get("calls") or []), *(extra.get("calls") or [])]
        if isinstance(c, dict)
    ]
    recording.checks = checks_from_calls(calls, imported.functions)
    covered = {c["function"] for c in recording.checks}
    wrapped = set(dumped.get("wrapped") or [])
    skipped = dumped.get("skipped") or {}
    for name in imported.functions:
        if name in covered:
            continue
        if name not in wrapped:
            why = "the solution never defined it while running (did its cell fail?)"
        elif skipped.get(name) or name in (dumped.get("dropped") or []):
            why = "its calls pass values that are neither literals nor global variables"
        else:
            why = "the notebook never calls it from a cell"
        recording.notes.append(f"no check for {name}: {why}; add one by hand")
    return recording
