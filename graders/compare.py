"""Compare a produced value with the reference value and say, readably, what differs.

One entry point, `compare(kind, expected, got)`, for typed answers and
notebook checks alike. Messages name what is wrong (missing keys, the first
differing index, shapes and dtypes, the largest difference); with
`reveal=False` they never contain the expected value, so a hidden check or an
unsolved short answer can say "wrong, and here is where" without giving the
answer away.
"""

from __future__ import annotations

import math
import numbers
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graders.codec import PROBE_META, ModelSummary, Opaque, Probe
from graders.spec import Compare

SHOW = 5
"""How many keys / items a message lists before saying 'and N more'."""

TEXT_LIMIT = 120


@dataclass(frozen=True)
class Outcome:
    passed: bool
    message: str


def compare(
    kind: Compare,
    expected: Any,
    got: Any,
    *,
    rtol: float = 1e-6,
    atol: float = 0.0,
    reveal: bool = True,
) -> Outcome:
    """Decide whether got matches expected under `kind`; the message explains a mismatch."""
    try:
        judge = _JUDGES[kind]
    except KeyError:
        raise ValueError(f"unknown comparison kind {kind!r}") from None
    return judge(expected, got, _Ctx(rtol=rtol, atol=atol, reveal=reveal))


@dataclass(frozen=True)
class _Ctx:
    rtol: float
    atol: float
    reveal: bool


def _ok() -> Outcome:
    return Outcome(True, "Correct.")


def _fail(message: str) -> Outcome:
    return Outcome(False, message)


# --- describing values ------------------------------------------------------------


def describe(value: Any, limit: int = TEXT_LIMIT) -> str:
    """A value as a person reads it: 171,533 / (None, 120, 16) / 'dog' / int32 array (4, 7)."""
    if isinstance(value, ModelSummary):
        params = "unknown" if value.params is None else f"{value.params:,}"
        return f"a Keras model with {params} parameters"
    if isinstance(value, Opaque):
        return f"a {value.type} object ({_clip(value.repr, limit)})"
    if isinstance(value, Probe):
        return _probe_what(value)
    if _is_array(value) and getattr(value, "ndim", 0) > 0:
        text = _clip(_plain_repr(value.tolist()), limit)
        return f"{value.dtype} array of shape {tuple(value.shape)}: {text}"
    return _clip(
        _plain_repr(_plain(value)) if not isinstance(value, tuple) else _tuple_repr(value), limit
    )


def _tuple_repr(value: tuple) -> str:
    inner = ", ".join(_plain_repr(_plain(v)) for v in value)
    return f"({inner},)" if len(value) == 1 else f"({inner})"


def _plain_repr(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return repr(value)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _kind_name(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, numbers.Integral):
        return "an integer"
    if isinstance(value, numbers.Real):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, tuple):
        return "a tuple"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Probe):
        return _probe_what(value)
    if isinstance(value, dict):
        return "a dict"
    if isinstance(value, (set, frozenset)):
        return "a set"
    if isinstance(value, ModelSummary):
        return "a Keras model"
    if _is_array(value):
        return "a scalar" if value.ndim == 0 else "an array"
    if isinstance(value, Opaque):
        return f"a {value.type} object"
    return f"a {type(value).__name__}"


def _wrong_type(wanted: str, got: Any) -> Outcome:
    return _fail(f"Expected {wanted}, got {_kind_name(got)}: {describe(got)}.")


# --- plain data ---------------------------------------------------------------------


def _is_array(value: Any) -> bool:
    return type(value).__name__ == "ndarray" and hasattr(value, "dtype")


def _is_np_scalar(value: Any) -> bool:
    return hasattr(value, "dtype") and hasattr(value, "item") and getattr(value, "ndim", 1) == 0


def _plain(value: Any) -> Any:
    """What a value looks like after a JSON round trip: tuples -> lists, arrays -> lists."""
    if _is_array(value):
        return _plain(value.tolist())
    if _is_np_scalar(value):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        items = [_plain(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, ModelSummary):
        return value.to_json()
    return value


def _number(value: Any) -> float | int | None:
    """A real number (or numpy scalar / 0-d array) as a Python number; None otherwise."""
    if _is_array(value) and value.ndim == 0 or _is_np_scalar(value):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return value


def _same_scalar(e: Any, g: Any, ctx: _Ctx | None) -> bool:
    if isinstance(e, bool) or isinstance(g, bool):
        return type(e) is type(g) and e == g
    en, gn = _number(e), _number(g)
    if en is not None and gn is not None:
        if isinstance(en, float) and isinstance(gn, float) and math.isnan(en) and math.isnan(gn):
            return True
        if ctx is None:
            return en == gn
        return _close(en, gn, ctx)
    return type(e) is type(g) and e == g


def _close(e: float, g: float, ctx: _Ctx) -> bool:
    if math.isnan(e) or math.isnan(g):
        return math.isnan(e) and math.isnan(g)
    if math.isinf(e) or math.isinf(g):
        return e == g
    return abs(g - e) <= ctx.atol + ctx.rtol * abs(e)


def _path(path: str) -> str:
    return path or "the top level"


# --- structural differences -------------------------------------------------------


def _differences(e: Any, g: Any, path: str, ctx: _Ctx, tol: _Ctx | None, out: list[str]) -> None:
    """Append readable differences (at most SHOW) between plain values e and g."""
    if len(out) >= SHOW:
        return
    if isinstance(e, dict) and isinstance(g, dict):
        out.extend(_dict_problems(e, g, path, ctx, tol)[: SHOW - len(out)])
        return
    if isinstance(e, list) and isinstance(g, list):
        if len(e) != len(g):
            if ctx.reveal:
                out.append(f"at {_path(path)}: {len(g)} items, expected {len(e)}")
            else:
                out.append(f"at {_path(path)}: {len(g)} items, which is not the expected number")
        for i, (ei, gi) in enumerate(zip(e, g, strict=False)):
            _differences(ei, gi, f"{path}[{i}]", ctx, tol, out)
            if len(out) >= SHOW:
                return
        return
    if type(e) in (dict, list) or type(g) in (dict, list):
        out.append(f"at {_path(path)}: {_kind_name(g)} where {_kind_name(e)} was expected")
        return
    if not _same_scalar(e, g, tol):
        out.append(f"at {_path(path)}: got {describe(g, 60)}" + _expected_suffix(e, ctx))


def _expected_suffix(e: Any, ctx: _Ctx) -> str:
    return f", expected {describe(e, 60)}" if ctx.reveal else ", which is not right"


def _dict_problems(e: dict, g: dict, path: str, ctx: _Ctx, tol: _Ctx | None) -> list[str]:
    where = f" at {path}" if path else ""
    missing = [k for k in e if k not in g]
    extra = [k for k in g if k not in e]
    changed = [
        k
        for k in e
        if k in g and not _trivially_equal(e[k], g[k]) and _has_difference(e[k], g[k], ctx, tol)
    ]
    problems = []
    if missing:
        if ctx.reveal:
            problems.append(f"{_count(missing, 'key')} missing{where}: {_list_keys(missing)}")
        else:
            problems.append(f"{_count(missing, 'key')} missing{where}")
    if extra:
        problems.append(f"{_count(extra, 'unexpected key')}{where}: {_list_keys(extra)}")
    if changed:
        details = []
        for k in changed[:SHOW]:
            inner: list[str] = []
            _differences(e[k], g[k], "", ctx, tol, inner)
            if isinstance(e[k], (dict, list)) and inner:
                details.append(f"{k!r}: {inner[0]}")
            else:
                details.append(f"{k!r}: got {describe(g[k], 40)}" + _expected_suffix(e[k], ctx))
        more = f" (and {len(changed) - SHOW} more)" if len(changed) > SHOW else ""
        problems.append(f"{_count(changed, 'wrong value')}{where}: " + "; ".join(details) + more)
    return problems


def _trivially_equal(e: Any, g: Any) -> bool:
    """Fast path for the common case of equal ints or strings (word_index values)."""
    return type(e) is type(g) and type(e) in (int, str) and e == g


def _has_difference(e: Any, g: Any, ctx: _Ctx, tol: _Ctx | None) -> bool:
    out: list[str] = []
    _differences(e, g, "", ctx, tol, out)
    return bool(out)


def _count(items: list, noun: str) -> str:
    return f"1 {noun}" if len(items) == 1 else f"{len(items)} {noun}s"


def _list_keys(keys: list) -> str:
    shown = ", ".join(repr(k) for k in keys[:SHOW])
    return shown + (f" and {len(keys) - SHOW} more" if len(keys) > SHOW else "")


# --- the judges -----------------------------------------------------------------


def _exact(expected: Any, got: Any, ctx: _Ctx) -> Outcome:
    if isinstance(got, Opaque) and not isinstance(expected, Opaque):
        return _wrong_type(_kind_name(_plain(expected)), got)
    e, g = _plain(expected), _plain(got)
    out: list[str] = []
    _differences(e, g, "", ctx, None, out)
    if not out:
        return _ok()
    if len(out) == 1 and not isinstance(e, (dict, list)):
        return _fail(f"Got {describe(got)}" + _expected_suffix(expected, ctx) + ".")
    return _fail("Not the expected value: " + "; ".join(out) + ".")


def _dict(expected: Any, got: Any, ctx: _Ctx) -> Outcome:
    if not isinstance(got, dict):
        return _wrong_type("a dict", got)
    problems = _dict_problems(_plain(expected), _plain(got), "", ctx, None)
    if not problems:
        return _ok()
    return _fail("; ".join(problems) + ".")


def _int(expected: Any, got: Any, ctx: _Ctx) -> Outcome:
    g = _number(got)
    if g is None or (isinstance(g, float) and not g.is_integer()):
        return _wrong_type("a whole number", got)
    e = _number(expected)
    if e is None:
        raise ValueError(f"reference value {expected!r} is not a number")
    if int(g) == int(e):
        return _ok()
    return _fail(
        f"Got {int(g):,}" + (f", expected {int(e):,}." if ctx.reveal else ", which is not right.")
    )


def _float(expected: Any, got: Any, ctx: _Ctx) -> Outcome:
    g = _number(got)
    if g is None:
        return _wrong_type("a number", got)
    e = _number(expected)
    if e is None:
        raise ValueError(f"reference value {expected!r} is not a number")
    if _close(float(e), float(g), ctx):
        return _ok()
    tol = f"(tolerance: rtol {ctx.rtol:g}, atol {ctx.atol:g})"
    if ctx.reveal:
        return _fail(f"Got {g!r}, expected {e!r} {tol}.")
    return _fail(f"Got {g!r}, which is not within tolerance of the expected value {tol}.")


def _hashable(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def _set(expected: Any, got: Any, ctx: _Ctx) -> Outcome:
    if (
        isinstance(got, (dict, str))
        or not isinstance(got, (list, tuple, set, frozenset))
        and not _is_array(got)
    ):
        return _wrong_type("a collection of items", got)
    e = {_hashable(v) for v in expected}
    g = {_hashable(v) for v in (got.tolist() if _is_array(got) else got)}
    missing, extra = sorted(e - g, key=repr), sorted(g - e, key=repr)
    if not missing and not extra:
        return _ok()
    problems = []
    if missing:
        if ctx.reveal:
            problems.append(f"{_count(missing, 'item')} missing: {_list_keys(missing)}")
        else:
            problems.append(f"{_count(missing, 'item')} missing")
    if extra:
        problems.append(f"{_count(extra, 'unexpected item')}: {_list_keys(extra)}")
    return _fail("; ".join(problems) + ".")


def _allclose(expected: Any, got: Any, ctx: _Ctx) -> Outcome:
    import numpy as np

    if got is None or isinstance(got, (str, dict, ModelSummary, Opaque, set, frozenset)):
        return _wrong_type("an array or nested list of numbers", got)
    e = np.asarray(expected)
    try:
        g = np.asarray(got)
    except ValueError:
        return _fail("Not a rectangular array: the rows have different lengths.")
    if g.dtype.kind not in "biuf" or e.dtype.kind not in "biuf":
        if g.dtype.kind == "O":
            return _fail(
                "Not a rectangular array of numbers (rows of different lengths or non-numbers)."
            )
        return _exact(expected, got, ctx)
    names = f"got {g.dtype} array of shape {tuple(g.shape)}"
    if g.shape != e.shape:
        if ctx.reveal:
            return _fail(f"Shape mismatch: {names}, expected shape {tuple(e.shape)} ({e.dtype}).")
        if g.ndim != e.ndim:
            return _fail(f"Shape mismatch: {names}, which has the wrong number of dimensions.")
        dims = [i for i, (a, b) in enumerate(zip(g.shape, e.shape, strict=True)) if a != b]
        return _fail(f"Shape mismatch: {names}; dimension {dims[0]} has the wrong size.")
    ef, gf = e.astype(np.float64), g.astype(np.float64)
    close = np.isclose(gf, ef, rtol=ctx.rtol, atol=ctx.atol, equal_nan=True)
    if bool(close.all()):
        return _ok()
    bad = np.argwhere(~close)
    first = tuple(int(i) for i in bad[0])
    with np.errstate(invalid="ignore"):
        diff = np.abs(gf - ef)
    finite = diff[np.isfinite(diff)]
    biggest = f"{float(finite.max()):.6g}" if finite.size else "inf"
    where = f"[{', '.join(str(i) for i in first)}]" if first else "the value"
    got_at = gf[first] if first else gf[()]
    exp_at = ef[first] if first else ef[()]
    msg = (
        f"{len(bad)} of {e.size} values differ ({names}, expected dtype {e.dtype}; "
        f"max abs diff {biggest}, rtol {ctx.rtol:g}, atol {ctx.atol:g}). First at {where}: got {_num(got_at)}"
    )
    msg += f", expected {_num(exp_at)}." if ctx.reveal else "."
    return _fail(msg)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{float(x):.6g}"


def _as_shape(value: Any) -> tuple | None:
    """A shape as a tuple of int | None; None when value is not a shape."""
    if _is_array(value):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        return None
    dims = []
    for d in value:
        if d is None:
            dims.append(None)
            continue
        n = _number(d)
        if n is None or isinstance(n, float) and not n.is_integer() or n < 0:
            return None
        dims.append(int(n))
    return tuple(dims)


def _shape_str(shape: tuple) -> str:
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def _shape_problem(expected: tuple, got: tuple, ctx: _Ctx) -> str | None:
    if expected == got:
        return None
    if ctx.reveal:
        return f"got {_shape_str(got)}, expected {_shape_str(expected)}"
    if len(expected) != len(got):
        return f"{_shape_str(got)} has the wrong number of dimensions"
    i = next(i for i, (a, b) in enumerate(zip(expected, got, strict=True)) if a != b)
    return f"{_shape_str(got)}: dimension {i} ({got[i]}) is wrong"


def _shape(expected: Any, got: Any, ctx: _Ctx) -> Outcome:
    e = _as_shape(expected)
    if e is None:
        raise ValueError(f"reference value {expected!r} is not a shape")
    g = _as_shape(got)
    if g is None:
        return _wrong_type("a shape such as (None, 120, 16)", got)
    problem = _shape_problem(e, g, ctx)
    return _ok() if problem is None else _fail(f"Shape mismatch: {problem}.")


_PUNCT_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Case, spacing and punctuation do not count: 'Hello,  World!' == 'hello world'."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(c).startswith("P") else c for c in text)
    return _PUNCT_SPACE.sub(" ", text).strip()


def _text(expected: Any, got: Any, ctx: _Ctx) -> Outcome:
    if not isinstance(got, str):
        return _wrong_type("text", got)
    e, g = normalize_text(str(expected)), normalize_text(got)
    if e == g:
        return _ok()
    ew, gw = e.split(), g.split()
    i = next(
        (i for i, (a, b) in enumerate(zip(ew, gw, strict=False)) if a != b), min(len(ew), len(gw))
    )
    note = " (compared ignoring case, spacing and punctuation)"
    if i < len(gw):
        where = f"first difference at word {i + 1} ({gw[i]!r})"
    else:
        where = f"your text ends after word {len(gw)}"
    if ctx.reveal:
        return _fail(
            f"Got {_clip(got, 80)!r}, expected {_clip(str(expected), 80)!r}: {where}{note}."
        )
    return _fail(f"Not the expected text: {where}{note}.")


def _params_of(value: Any) -> int | None:
    if isinstance(value, ModelSummary):
        return value.params
    if isinstance(value, dict) and "params" in value:
        return _params_of(value["params"])
    n = _number(value)
    if n is None or isinstance(n, float) and not n.is_integer():
        return None
    return int(n)


def _param_count(expected: Any, got: Any, ctx: _Ctx) -> Outcome:
    e = _params_of(expected)
    if e is None:
        raise ValueError(f"reference value {expected!r} has no parameter count")
    if isinstance(got, ModelSummary) and got.params is None:
        return _fail(_UNBUILT)
    g = _params_of(got)
    if g is None:
        return _wrong_type("a parameter count (a whole number) or a Keras model", got)
    if g == e:
        return _ok()
    return _fail(
        f"Got {g:,} parameters"
        + (f", expected {e:,}." if ctx.reveal else ", which is not the expected count.")
    )


_UNBUILT = (
    "The model is not built, so it has no weights to count yet: give it an input "
    "(keras.Input(shape=...) as its first layer) or call model.build(...)."
)


def _summary_of(value: Any) -> ModelSummary | None:
    if isinstance(value, ModelSummary):
        return value
    if isinstance(value, dict) and "layers" in value:
        return ModelSummary(
            params=value.get("params"),
            trainable_params=value.get("trainable_params"),
            layers=tuple(value.get("layers") or ()),
            output_shape=value.get("output_shape"),
        )
    return None


def _model(expected: Any, got: Any, ctx: _Ctx) -> Outcome:
    e = _summary_of(expected)
    if e is None:
        raise ValueError(f"reference value {expected!r} is not a model summary")
    g = _summary_of(got)
    if g is None:
        return _wrong_type("a Keras model", got)
    if g.params is None or not g.built:
        return _fail(_UNBUILT)
    problems = []
    if e.params is not None and g.params != e.params:
        problems.append(
            f"{g.params:,} parameters"
            + (f", expected {e.params:,}" if ctx.reveal else ", not the expected count")
        )
    if e.trainable_params is not None and g.trainable_params != e.trainable_params:
        tp = "unknown" if g.trainable_params is None else f"{g.trainable_params:,}"
        problems.append(
            f"{tp} trainable parameters"
            + (f", expected {e.trainable_params:,}" if ctx.reveal else ", not the expected count")
        )
    el = [name for name in e.layers if name != "InputLayer"]
    gl = [name for name in g.layers if name != "InputLayer"]
    if el != gl:
        if ctx.reveal:
            problems.append(f"layers {', '.join(gl) or '(none)'}, expected {', '.join(el)}")
        else:
            i = next((i for i, (a, b) in enumerate(zip(el, gl, strict=False)) if a != b), None)
            if i is None:
                problems.append(f"{len(gl)} layers, which is not the expected number")
            else:
                problems.append(f"layer {i + 1} is a {gl[i]}, which is not the expected kind")
    if e.output_shape is not None:
        es, gs = _as_shape(e.output_shape), _as_shape(g.output_shape)
        if es is not None and gs is None:
            problems.append(f"output shape {g.output_shape!r} is not a single shape")
        elif es is not None and gs is not None:
            problem = _shape_problem(es, gs, ctx)
            if problem:
                problems.append(f"output shape {problem}")
    if not problems:
        return _ok()
    return _fail("The model differs: " + "; ".join(problems) + ".")


# --- probes (graders/probes.py) ---------------------------------------------------------

_PROBE_NOUNS = {
    "Tokenizer": "Tokenizer",
    "TextVectorization": "TextVectorization layer",
    "StringLookup": "StringLookup layer",
    "IntegerLookup": "IntegerLookup layer",
    "Dataset": "tf.data.Dataset",
    "Model": "Keras model",
    "History": "training History",
    "list": "list",
    "dict": "dict",
    "array": "array",
}


def _probe_what(value: Probe) -> str:
    if value.kind == "object":
        return f"a {value.get('type', 'Python')} object"
    noun = _PROBE_NOUNS.get(value.kind, value.kind)
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _probe(expected: Any, got: Any, ctx: _Ctx) -> Outcome:
    out: list[str] = []
    _probe_diff(expected, got, "", ctx, out)
    if not out:
        return _ok()
    if isinstance(expected, Probe) and isinstance(got, Probe) and expected.kind == got.kind:
        head = f"The {_PROBE_NOUNS.get(expected.kind, expected.kind)} differs: "
    elif isinstance(expected, (tuple, list, dict)) and not isinstance(expected, Probe):
        head = "The returned values differ: "
    else:
        head = ""
    shown = out[:SHOW]
    more = " (and more)" if len(out) > SHOW else ""
    text = "; ".join(shown) + more
    return _fail(head + (text[0].upper() + text[1:] if not head else text) + ".")


def _probe_diff(e: Any, g: Any, path: str, ctx: _Ctx, out: list[str]) -> None:
    """Differences between a probed reference value and a probed member value."""
    if len(out) > SHOW:
        return
    where = f"{path}: " if path else ""
    if isinstance(e, Probe):
        if not isinstance(g, Probe):
            out.append(f"{where}expected {_probe_what(e)}, got {_got(g)}")
            return
        if g.kind != e.kind:
            out.append(f"{where}expected {_probe_what(e)}, got {_probe_what(g)}")
            return
        unread = _unread(e, g)
        said: set[str] = set()
        for key, ev in e.items():
            if key in PROBE_META:
                continue
            name = f"{path}: {key}" if path else key
            if key in unread:
                reason, keys = unread[key]
                if reason not in said:
                    said.add(reason)
                    out.append(f"{where}could not read {_and(keys)}: {reason}"[:400])
            elif key not in g:
                out.append(f"{name}: missing")
            elif key == "digest":
                if ev != g[key] and not _probe_head_reported(out, path):
                    out.append(f"{where}the contents differ after the first items shown")
            else:
                _probe_value_diff(ev, g[key], name, ctx, out)
            if len(out) > SHOW:
                return
        return
    if isinstance(e, (tuple, list)) and any(_holds_probe(v) for v in e):
        if not isinstance(g, (tuple, list)):
            out.append(f"{where}expected {len(e)} values, got {_got(g)}")
            return
        if len(g) != len(e):
            out.append(
                f"{where}{len(g)} value{'' if len(g) == 1 else 's'} returned, expected {len(e)}"
            )
            return
        for i, (ei, gi) in enumerate(zip(e, g, strict=True)):
            _probe_diff(ei, gi, f"{path} value {i + 1}".strip(), ctx, out)
        return
    if isinstance(e, dict) and any(_holds_probe(v) for v in e.values()):
        if not isinstance(g, dict) or isinstance(g, Probe):
            out.append(f"{where}expected a dict, got {_got(g)}")
            return
        for key, ev in e.items():
            name = f"{path}[{key!r}]" if path else f"[{key!r}]"
            if key not in g:
                out.append(f"{name}: missing")
            else:
                _probe_diff(ev, g[key], name, ctx, out)
        return
    _probe_value_diff(e, g, path, ctx, out)


def _unread(e: Probe, g: Probe) -> dict[str, tuple[str, list[str]]]:
    """Fields the member's probe could not read, each with its reason and the fields that
    share it, so "the model is not built" is said once."""
    errors = g.get("errors") if isinstance(g.get("errors"), dict) else {}
    reasons: dict[str, str] = {}
    for key in e:
        if key in PROBE_META or key in g:
            continue
        error, lead = str(errors.get(key) or ""), f"could not read {key}: "
        if error.startswith(lead):
            reasons[key] = error[len(lead) :][:300]
    grouped: dict[str, list[str]] = {}
    for key, reason in reasons.items():
        grouped.setdefault(reason, []).append(key)
    return {key: (reason, grouped[reason]) for key, reason in reasons.items()}


def _got(value: Any) -> str:
    if value is None or isinstance(value, Probe):
        return _kind_name(value)
    return f"{_kind_name(value)}: {describe(value, 60)}"


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _items(n: int) -> str:
    return "1 item" if n == 1 else f"{n} items"


def _holds_probe(value: Any) -> bool:
    if isinstance(value, Probe):
        return True
    if isinstance(value, (tuple, list)):
        return any(_holds_probe(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_probe(v) for v in value.values())
    return False


def _probe_head_reported(out: list[str], path: str) -> bool:
    prefix = f"{path}: head" if path else "head"
    return any(line.startswith(prefix) for line in out)


def _probe_value_diff(e: Any, g: Any, path: str, ctx: _Ctx, out: list[str]) -> None:
    """One field: numbers within rtol/atol (whole numbers exactly), the first differing index
    of a list, each key of a dict."""
    where = path or "the value"
    e, g = _plain(e), _plain(g)
    if isinstance(e, list) and isinstance(g, list):
        if len(e) != len(g):
            out.append(
                f"{where}: {_items(len(g))}, expected {len(e)}"
                if ctx.reveal
                else f"{where}: {_items(len(g))}, which is not the expected number"
            )
        for i, (ei, gi) in enumerate(zip(e, g, strict=False)):
            before = len(out)
            _probe_value_diff(ei, gi, f"{path}[{i}]", ctx, out)
            if len(out) > before:
                return  # the first differing index is enough
        return
    if isinstance(e, dict) and isinstance(g, dict):
        for key, ev in e.items():
            name = f"{path}.{key}" if path else str(key)
            if key not in g:
                out.append(f"{name}: missing")
            else:
                _probe_value_diff(ev, g[key], name, ctx, out)
            if len(out) > SHOW:
                return
        extra = [k for k in g if k not in e]
        if extra:
            out.append(f"{where}: {_count(extra, 'unexpected key')}: {_list_keys(extra)}")
        return
    if isinstance(e, (dict, list)) or isinstance(g, (dict, list)):
        out.append(f"{where}: expected {_kind_name(e)}, got {_got(g)}")
        return
    if _probe_same(e, g, ctx):
        return
    if ctx.reveal:
        out.append(f"{where}: expected {describe(e, 60)}, got {describe(g, 60)}")
    else:
        out.append(f"{where}: got {describe(g, 60)}, which is not the expected value")


def _probe_same(e: Any, g: Any, ctx: _Ctx) -> bool:
    if isinstance(e, bool) or isinstance(g, bool):
        return type(e) is type(g) and e == g
    if isinstance(e, int) and isinstance(g, int):
        return e == g
    en, gn = _number(e), _number(g)
    if en is not None and gn is not None:
        return _close(float(en), float(gn), ctx)
    return type(e) is type(g) and e == g


_JUDGES: dict[str, Callable[[Any, Any, _Ctx], Outcome]] = {
    "exact": _exact,
    "int": _int,
    "float": _float,
    "set": _set,
    "dict": _dict,
    "allclose": _allclose,
    "shape": _shape,
    "text": _text,
    "param_count": _param_count,
    "model": _model,
    "probe": _probe,
}
