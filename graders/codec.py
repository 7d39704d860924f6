"""Tagged JSON for the values that cross a trust boundary: sandbox -> grader, child -> parent.

Values travel as plain JSON with a few tagged objects ("__tuple__",
"__ndarray__", "__keras_model__", "__probe__", ...) so that a tuple stays a
tuple and an array keeps its dtype and shape, and nothing is ever unpickled.

`probe(value, options)` turns the objects course functions return (a
Tokenizer, TextVectorization, StringLookup, tf.data.Dataset, Keras model,
History, and tuples of them) into a `Probe`: a plain dict read inside the
sandbox, so the trusted side compares data, never live objects (see
graders/probes.py for the options a spec gives).

This module is self-contained on purpose: the notebook grader injects its
source text into the sandboxed kernel. At module level it imports only the
standard library; numpy, TensorFlow and Keras are recognised through
`sys.modules`, so encoding never imports TensorFlow and decoding imports only
numpy, and only when a value holds an array.
"""

# No dataclasses here: the source is also exec()-ed outside sys.modules (in a
# kernel), where dataclasses cannot always resolve their annotations.
import base64
import hashlib
import json
import math
import re
import sys
import time
from typing import Any

MAX_DEPTH = 100
"""Nesting deeper than this is refused (also catches self-referencing lists)."""

DECODE_MAX_BYTES = 256 * 1024**2
"""What the arrays of one decoded value may take together when the caller sets no bound."""
MAX_RANK = 32
"""Dimensions an encoded array may declare."""
MAX_STRING_ITEM = 65_536
"""Characters (or bytes) one item of a unicode (or bytes) array may hold."""

REPR_LIMIT = 200

TAGS = frozenset(
    {
        "__tuple__",
        "__set__",
        "__dict__",
        "__float__",
        "__bytes__",
        "__ndarray__",
        "__keras_model__",
        "__probe__",
        "__repr__",
    }
)

_FLOAT_NAMES = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class _Record:
    """A small immutable value type (not a dataclass: see the note on imports above)."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self._fields)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._values() == self._values()

    def __hash__(self) -> int:
        return hash((type(self).__name__, *(_freeze(v) for v in self._values())))

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({inner})"


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


class ModelSummary(_Record):
    """What the grader learns about a Keras model: its shape, never its code."""

    __slots__ = ("params", "trainable_params", "layers", "output_shape", "layer_params", "built")
    _fields = __slots__

    def __init__(
        self,
        params: Any,
        trainable_params: Any,
        layers: Any,
        output_shape: Any = None,
        layer_params: Any = None,
        built: bool = True,
    ) -> None:
        values = {
            "params": params,
            "trainable_params": trainable_params,
            "layers": tuple(layers),
            "output_shape": output_shape,
            "layer_params": None if layer_params is None else tuple(layer_params),
            "built": bool(built),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def to_json(self) -> dict:
        return {
            "params": self.params,
            "trainable_params": self.trainable_params,
            "layers": list(self.layers),
            "output_shape": _shape_to_json(self.output_shape),
            "layer_params": None if self.layer_params is None else list(self.layer_params),
            "built": self.built,
        }


class Opaque(_Record):
    """A value the codec cannot carry: its type and a short repr, for messages."""

    __slots__ = ("repr", "type")
    _fields = __slots__

    def __init__(self, repr: str, type: str = "object") -> None:  # noqa: A002 - the tag's field names
        object.__setattr__(self, "repr", repr)
        object.__setattr__(self, "type", type)


class _Budget:
    """Counts roughly how many characters an encoding will take, to fail early."""

    def __init__(self, max_bytes: int | None) -> None:
        self.max_bytes = max_bytes
        self.used = 0

    def spend(self, n: int) -> None:
        if self.max_bytes is None:
            return
        self.used += n
        if self.used > self.max_bytes:
            raise ValueError(f"value too large to encode (more than {self.max_bytes} bytes)")


def encode(value: Any, *, max_bytes: int | None = None) -> Any:
    """Turn value into JSON-able data with tags; raise ValueError past max_bytes or MAX_DEPTH."""
    return _encode(value, _Budget(max_bytes), 0, set())


class UnsafeValue(ValueError):
    """An encoded value refused before anything was allocated for it (see _decode_array)."""


def decode(obj: Any, *, max_bytes: int | None = None) -> Any:
    """Rebuild a value from encode()'s output (numpy is imported only for arrays).

    The input may come from a member's kernel, so each array is checked before numpy
    allocates it (dtype, shape, data of exactly that shape) and the arrays of the value
    may take max_bytes together (DECODE_MAX_BYTES when None): UnsafeValue if not. Other
    malformed input raises ValueError.
    """
    limit = DECODE_MAX_BYTES if max_bytes is None else max_bytes
    return _decode(obj, 0, _DecodeBudget(limit))


def dumps(value: Any, *, max_bytes: int | None = None) -> str:
    """Encode value as compact JSON text; ValueError if the text would exceed max_bytes."""
    text = json.dumps(
        encode(value, max_bytes=max_bytes),
        allow_nan=False,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    if max_bytes is not None and len(text.encode("utf-8")) > max_bytes:
        raise ValueError(f"value too large to encode (more than {max_bytes} bytes)")
    return text


def loads(text: str | bytes, *, max_bytes: int | None = None) -> Any:
    """Decode JSON text made by dumps(); ValueError on malformed or oversized input
    (max_bytes bounds the text, and the arrays it holds, as decode's)."""
    if max_bytes is not None and len(text) > max_bytes:
        raise ValueError(f"encoded value larger than {max_bytes} bytes")
    try:
        obj = json.loads(text)
    except RecursionError as exc:
        raise ValueError("encoded value nested too deeply") from exc
    return decode(obj, max_bytes=max_bytes)


# --- encoding -----------------------------------------------------------------


def _qualname(value: Any) -> str:
    cls = type(value)
    module = getattr(cls, "__module__", "") or ""
    name = getattr(cls, "__qualname__", cls.__name__)
    return name if module == "builtins" else f"{module}.{name}"


def _opaque(value: Any) -> dict[str, Any]:
    try:
        text = repr(value)
    except Exception as exc:  # noqa: BLE001 - a broken __repr__ must not break grading
        text = f"<unrepresentable: {type(exc).__name__}>"
    return {"__repr__": text[:REPR_LIMIT], "type": _qualname(value)[:REPR_LIMIT]}


def _encode_float(x: float, budget: _Budget) -> Any:
    budget.spend(8)
    if math.isnan(x):
        return {"__float__": "nan"}
    if math.isinf(x):
        return {"__float__": "inf" if x > 0 else "-inf"}
    return float(x)


def _encode(value: Any, budget: _Budget, depth: int, active: set[int]) -> Any:
    if depth > MAX_DEPTH:
        raise ValueError(f"value nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, bool):
        budget.spend(5)
        return value
    if type(value) not in _PLAIN:
        special = _encode_library_value(value, budget, depth, active)
        if special is not _NOT_SPECIAL:
            return special
    if isinstance(value, int):
        budget.spend(len(str(value)) + 1 if abs(value) < 10**4000 else 4001)
        return int(value)
    if isinstance(value, float):
        return _encode_float(value, budget)
    if isinstance(value, str):
        budget.spend(len(value) + 3)
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        budget.spend(len(value) * 4 // 3 + 16)
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, ModelSummary):
        budget.spend(64 + 16 * len(value.layers))
        return {"__keras_model__": value.to_json()}
    if isinstance(value, Opaque):
        budget.spend(len(value.repr) + 32)
        return {"__repr__": value.repr, "type": value.type}
    if isinstance(value, Probe):
        if id(value) in active:
            raise ValueError("value refers to itself")
        active.add(id(value))
        try:
            return {"__probe__": _encode_container(dict(value), budget, depth, active)}
        finally:
            active.discard(id(value))

    if isinstance(value, (list, tuple, set, frozenset, dict)):
        if id(value) in active:
            raise ValueError("value refers to itself")
        active.add(id(value))
        try:
            return _encode_container(value, budget, depth, active)
        finally:
            active.discard(id(value))
    budget.spend(REPR_LIMIT)
    return _opaque(value)


def _encode_container(value: Any, budget: _Budget, depth: int, active: set[int]) -> Any:
    budget.spend(2)
    if isinstance(value, list):
        return [_encode(v, budget, depth + 1, active) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, budget, depth + 1, active) for v in value]}
    if isinstance(value, (set, frozenset)):
        items = [_encode(v, budget, depth + 1, active) for v in value]
        try:
            items.sort(key=lambda item: json.dumps(item, sort_keys=True))
        except (TypeError, ValueError):
            pass
        return {"__set__": items}
    if all(isinstance(k, str) for k in value) and not TAGS.intersection(value):
        out = {}
        for k, v in value.items():
            budget.spend(len(k) + 4)
            out[str(k)] = _encode(v, budget, depth + 1, active)
        return out
    return {
        "__dict__": [
            [_encode(k, budget, depth + 1, active), _encode(v, budget, depth + 1, active)]
            for k, v in value.items()
        ]
    }


_NOT_SPECIAL = object()
_PLAIN = frozenset({int, float, str, list, tuple, dict})


def _encode_library_value(value: Any, budget: _Budget, depth: int, active: set[int]) -> Any:
    """numpy / TensorFlow / Keras values, recognised only if those modules are already loaded."""
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(value, np.ndarray):
            return _encode_array(value, budget, depth, active)
        if isinstance(value, np.generic):
            return _encode_array(np.asarray(value), budget, depth, active)
    if _is_keras_model(value):
        summary = summarize_model(value)
        budget.spend(64 + 16 * len(summary.layers))
        return {"__keras_model__": summary.to_json()}
    module = type(value).__module__ or ""
    if module.split(".")[0] in {"tensorflow", "keras", "tf_keras"}:
        ragged = getattr(value, "to_list", None)
        if callable(ragged) and "Ragged" in type(value).__name__:
            return _encode(ragged(), budget, depth + 1, active)
        to_numpy = getattr(value, "numpy", None)
        if callable(to_numpy):
            try:
                array = to_numpy()
            except Exception:  # noqa: BLE001 - symbolic tensors have no value
                return _opaque(value)
            return _encode(array, budget, depth + 1, active)
    if module.startswith("tensorflow") and hasattr(value, "as_list"):
        try:  # a TensorShape
            return _encode(tuple(value.as_list()), budget, depth + 1, active)
        except ValueError:
            return _opaque(value)
    return _NOT_SPECIAL


def _encode_array(array: Any, budget: _Budget, depth: int, active: set[int]) -> Any:
    kind = array.dtype.kind
    if kind not in "biufUSO":
        budget.spend(REPR_LIMIT)
        return _opaque(array)
    budget.spend(2 * array.size + 32)
    shape = [int(n) for n in array.shape]
    if kind == "f":
        np = sys.modules["numpy"]
        if bool(np.isfinite(array).all()):
            data = array.tolist()
        else:
            data = _encode(array.tolist(), budget, depth + 1, active)
    elif kind in "biu":
        data = array.tolist()
    else:
        data = _encode(array.tolist(), budget, depth + 1, active)
    return {"__ndarray__": data, "dtype": str(array.dtype), "shape": shape}


def _is_keras_model(value: Any) -> bool:
    for name in ("keras", "tf_keras"):
        module = sys.modules.get(name)
        model_cls = getattr(module, "Model", None) if module is not None else None
        if isinstance(model_cls, type) and isinstance(value, model_cls):
            return True
    return False


def _shape_to_json(shape: Any) -> Any:
    if shape is None:
        return None
    if isinstance(shape, (list, tuple)):
        return [_shape_to_json(s) for s in shape]
    if hasattr(shape, "as_list"):
        try:
            return shape.as_list()
        except ValueError:
            return None
    try:
        return int(shape)
    except (TypeError, ValueError):
        return None


def _count(weights: Any) -> int:
    return sum(math.prod(int(d) for d in w.shape) for w in weights)


def summarize_model(model: Any) -> ModelSummary:
    """Parameter counts, layer class names and output shape of a Keras model."""
    _build_if_unbuilt(model, None)
    layers = tuple(type(layer).__name__ for layer in getattr(model, "layers", []))
    built = bool(getattr(model, "built", False))
    try:
        params = int(model.count_params())
    except Exception:  # noqa: BLE001 - an unbuilt model cannot count its weights
        params, built = None, False
    trainable = _count(model.trainable_weights) if params is not None else None
    try:
        output_shape = _shape_to_json(model.output_shape)
    except Exception:  # noqa: BLE001 - unbuilt or multi-graph models have none
        output_shape = None
    layer_params: list[int | None] = []
    for layer in getattr(model, "layers", []):
        try:
            layer_params.append(int(layer.count_params()))
        except Exception:  # noqa: BLE001
            layer_params.append(None)
    return ModelSummary(
        params=params,
        trainable_params=trainable,
        layers=layers,
        output_shape=output_shape,
        layer_params=tuple(layer_params),
        built=built,
    )


# --- decoding -----------------------------------------------------------------


class _DecodeBudget:
    """The bytes the arrays of one decoded value may still take."""

    def __init__(self, max_bytes: int) -> None:
        self.left = max(0, int(max_bytes))
        self.limit = self.left

    def take(self, n: int, what: str) -> None:
        if n > self.left:
            raise UnsafeValue(
                f"{what} would take {_size_text(n)}, more than the {_size_text(self.limit)} "
                "a value may take"
            )
        self.left -= n


def _size_text(n: int) -> str:
    if n >= 10 * 1024**2:
        return f"{n / 1024**2:.0f} MB" if n < 10**15 else "more than a petabyte"
    if n >= 10 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"


def _decode(obj: Any, depth: int, budget: _DecodeBudget) -> Any:
    if depth > MAX_DEPTH:
        raise ValueError(f"encoded value nested deeper than {MAX_DEPTH} levels")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        return [_decode(v, depth + 1, budget) for v in obj]
    if not isinstance(obj, dict):
        raise ValueError(f"not an encoded value: {type(obj).__name__}")
    tag = next((k for k in obj if k in TAGS), None)
    if tag is None:
        return {k: _decode(v, depth + 1, budget) for k, v in obj.items()}
    body = obj[tag]
    if tag == "__tuple__":
        return tuple(_decode(v, depth + 1, budget) for v in _as_list(body, tag))
    if tag == "__set__":
        return {_hashable(_decode(v, depth + 1, budget)) for v in _as_list(body, tag)}
    if tag == "__dict__":
        out = {}
        for pair in _as_list(body, tag):
            if not isinstance(pair, list) or len(pair) != 2:
                raise ValueError("__dict__ items must be [key, value] pairs")
            key = _hashable(_decode(pair[0], depth + 1, budget))
            out[key] = _decode(pair[1], depth + 1, budget)
        return out
    if tag == "__float__":
        if not isinstance(body, str) or body not in _FLOAT_NAMES:
            raise ValueError(f"unknown __float__ value {str(body)[:40]!r}")
        return _FLOAT_NAMES[body]
    if tag == "__bytes__":
        if not isinstance(body, str):
            raise ValueError("bad __bytes__ value")
        try:
            return base64.b64decode(body, validate=True)
        except ValueError as exc:
            raise ValueError("bad __bytes__ value") from exc
    if tag == "__ndarray__":
        return _decode_array(obj, depth, budget)
    if tag == "__keras_model__":
        return _decode_model(body)
    if tag == "__probe__":
        if not isinstance(body, dict) or any(k in TAGS for k in body):
            raise ValueError("__probe__ must hold a plain object")
        return Probe(_decode(body, depth + 1, budget))
    return Opaque(repr=str(body)[:REPR_LIMIT], type=str(obj.get("type", "object"))[:REPR_LIMIT])


def _as_list(body: Any, tag: str) -> list:
    if not isinstance(body, list):
        raise ValueError(f"{tag} must hold a list")
    return body


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, set):
        return frozenset(value)
    if type(value).__name__ == "ndarray":
        return _hashable(value.tolist())
    return value


# The dtypes encode() writes (str(array.dtype)), and their byte-order spellings; nothing
# else: no object arrays of numpy's, records, subarrays, datetimes or void.
_DTYPE = re.compile(
    r"bool|u?int(?:8|16|32|64)|float(?:16|32|64|96|128)|complex(?:64|128|192|256)"
    r"|[<>|=]?(?:b1|\?|[iu][1248]|f(?:2|4|8|12|16)|c(?:8|16|24|32))"
    r"|[<>|=]?[US](?P<chars>\d{1,9})"
    r"|object|\|?O"
)


def _array_dtype(text: Any) -> Any:
    """The numpy dtype an __ndarray__ declares, or None for an object array (UnsafeValue)."""
    import numpy as np

    if not isinstance(text, str) or len(text) > 20:
        raise UnsafeValue("the array's dtype is not one the grader reads")
    match = _DTYPE.fullmatch(text)
    if match is None:
        raise UnsafeValue(f"the array's dtype {text!r} is not one the grader reads")
    if text in ("object", "O", "|O"):
        return None
    chars = match.group("chars")
    if chars is not None and int(chars) > MAX_STRING_ITEM:
        raise UnsafeValue(
            f"the array's dtype {text!r} allows {int(chars):,} characters an item, "
            f"more than {MAX_STRING_ITEM:,}"
        )
    try:
        dtype = np.dtype(text)
    except TypeError as exc:
        raise UnsafeValue(f"the array's dtype {text!r} is not one the grader reads") from exc
    if dtype.kind not in "biufcUS" or dtype.fields is not None or dtype.subdtype is not None:
        raise UnsafeValue(f"the array's dtype {text!r} is not one the grader reads")
    return dtype


def _array_shape(shape: Any, limit: int) -> tuple[tuple[int, ...], int]:
    """The declared shape (at most MAX_RANK non-negative ints) and its element count."""
    if not isinstance(shape, list) or len(shape) > MAX_RANK:
        raise UnsafeValue(f"the array's shape must be a list of at most {MAX_RANK} sizes")
    count = 1
    for size in shape:
        if type(size) is not int or size < 0:
            raise UnsafeValue("the array's shape must hold non-negative whole numbers")
        count *= size
        if count > limit:  # checked as it grows: no huge products are ever formed
            count = limit + 1
    return tuple(shape), count


def _array_items(data: Any, shape: tuple[int, ...]) -> list:
    """The items of data, which must be nested lists of exactly `shape`, in order.

    No broadcasting: numpy is then asked for exactly the items the value declares.
    (Items that are themselves lists are refused by the caller: see _decode_array.)
    """
    level = [data]
    for size in shape:
        items: list = []
        for node in level:
            if type(node) is not list or len(node) != size:
                raise UnsafeValue(
                    f"the array's data does not have its declared shape {list(shape)}"
                )
            items.extend(node)
        level = items
    return level


def _decode_array(obj: dict[str, Any], depth: int, budget: _DecodeBudget) -> Any:
    """An __ndarray__, checked before anything is allocated for it.

    The dtype must be bool, an int, float or complex, or unicode/bytes of at most
    MAX_STRING_ITEM an item; the shape at most MAX_RANK non-negative ints; the data
    nested lists of exactly that shape whose items are numbers (strings, bytes), not
    lists; and itemsize x items must fit what is left of the value's budget. An object
    array comes back as its nested lists (its items decoded), not as a numpy object array.
    """
    dtype = _array_dtype(obj.get("dtype", "float64"))
    shape, count = _array_shape(obj.get("shape", []), budget.limit)
    if count > budget.limit:
        raise UnsafeValue(f"the array declares more than {budget.limit:,} items")
    itemsize = 8 if dtype is None else dtype.itemsize  # an object array: a list of pointers
    budget.take(count * itemsize, f"an array of {count:,} items of {itemsize} bytes")
    raw = obj["__ndarray__"]
    items = _array_items(raw, shape)
    if dtype is None:
        return _decode(raw, depth + 1, budget)
    # One flat list whose first item is no sequence: numpy then finds the flat shape (a
    # later list or tuple makes it raise while it looks, before it allocates), so it
    # allocates count x itemsize at most. Tagged items (NaN, bytes) are decoded first.
    if items and type(items[0]) in (list, tuple):
        raise UnsafeValue(f"the array's data is nested deeper than its shape {list(shape)}")
    if dtype.kind == "U" and not set(map(type, items)) <= {str}:
        raise UnsafeValue("the items of a unicode array must be strings")
    if dtype.kind == "S" or (items and type(items[0]) is dict):
        items = _tagged_items(items, dtype, depth, budget)
    import numpy as np

    try:
        try:
            array = np.array(items, dtype=dtype)
        except (TypeError, ValueError):
            if dtype.kind not in "biufc" or dict not in set(map(type, items)):
                raise
            array = np.array(_tagged_items(items, dtype, depth, budget), dtype=dtype)
        array = array.reshape(shape)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"__ndarray__ data does not fit dtype {dtype}: {exc}") from exc
    return array[()] if shape == () else array


def _tagged_items(items: list, dtype: Any, depth: int, budget: _DecodeBudget) -> list:
    """Items with their tags decoded ({"__float__": "nan"}, {"__bytes__": ...}), each
    checked to be a number (bytes, for a bytes array)."""
    items = [_decode(item, depth + 1, budget) if type(item) is dict else item for item in items]
    wanted = (bytes,) if dtype.kind == "S" else (int, float, bool)
    if not all(type(item) in wanted for item in items):
        what = "bytes" if dtype.kind == "S" else "numbers"
        raise UnsafeValue(f"the items of a {dtype} array must be {what}")
    return items


def _decode_model(body: Any) -> ModelSummary:
    if not isinstance(body, dict):
        raise ValueError("__keras_model__ must hold an object")

    def opt_int(v: Any) -> int | None:
        return None if v is None else int(v)

    layer_params = body.get("layer_params")
    return ModelSummary(
        params=opt_int(body.get("params")),
        trainable_params=opt_int(body.get("trainable_params")),
        layers=tuple(str(name) for name in body.get("layers") or []),
        output_shape=body.get("output_shape"),
        layer_params=None if layer_params is None else tuple(opt_int(p) for p in layer_params),
        built=bool(body.get("built", True)),
    )


# --- probes: course objects as plain data ---------------------------------------------
#
# Runs inside the sandbox on the member's own objects, so every field is read on its
# own (a failure becomes "could not read X: ..." in "errors"), sizes are capped (what
# was cut is named in "truncated") and a soft deadline stops slow datasets. The
# standard-library functions it needs are captured now, before member code can patch
# them; this module's builtins are already a snapshot in the kernel (zygote._load_codec).

_json_dumps = json.dumps
_sha256 = hashlib.sha256
_monotonic = time.monotonic

PROBE_LEAVES = 20_000
"""Numbers and strings one course object's probe may hold before it is cut."""
PROBE_TEXT = 2_000
"""Characters of one string kept in a probe."""
PROBE_DIGEST_LEAVES = 2_000_000
"""Items hashed for a long list's digest; longer lists get none."""
PROBE_META = frozenset({"kind", "errors", "truncated"})
"""Keys of a Probe that describe the reading, not the object (not compared)."""
_PROBE_OPTIONS = {
    "k": (int, 0, 1000),
    "head": (int, 0, 100),
    "seconds": (float, 1, 120),
    "texts": (list, 0, 100),
    "inputs": (list, 0, 100),
    "input_shape": (list, 1, 8),
    "fields": (list, 1, 50),
}
_DEFAULT_K = {"vocabulary": 20, "dataset": 2}
_MAX_DATASET_K = 20


class Probe(dict):
    """What a probe read from a course object: "kind", then plain fields; "errors" and
    "truncated" (when present) say which fields could not be read or were cut."""

    __slots__ = ()

    @property
    def kind(self) -> str:
        return str(self.get("kind", "object"))

    def __repr__(self) -> str:
        return f"Probe({dict.__repr__(self)})"


def probe_options(options: Any) -> dict:
    """Checked probe options (the spec's CheckSpec.probe); ValueError names the bad one."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ValueError("probe options must be a mapping")
    out = {}
    for name, value in options.items():
        if name not in _PROBE_OPTIONS:
            known = ", ".join(sorted(_PROBE_OPTIONS))
            raise ValueError(f"unknown probe option {name!r} (known: {known})")
        wanted, low, high = _PROBE_OPTIONS[name]
        if wanted is list:
            if not isinstance(value, (list, tuple)) or not low <= len(value) <= high:
                raise ValueError(f"probe option {name!r} must be a list of {low} to {high} items")
            value = list(value)
            if name in ("texts", "inputs") and not all(
                isinstance(v, (str, int)) and not isinstance(v, bool) for v in value
            ):
                raise ValueError(f"probe option {name!r} must hold strings (or integers)")
            if name == "input_shape" and not all(
                v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0)
                for v in value
            ):
                raise ValueError("probe option 'input_shape' must hold positive integers")
            if name == "fields" and not all(isinstance(v, str) for v in value):
                raise ValueError("probe option 'fields' must hold field names")
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"probe option {name!r} must be a number")
            if wanted is int and value != int(value):
                raise ValueError(f"probe option {name!r} must be a whole number")
            if not low <= value <= high:
                raise ValueError(f"probe option {name!r} must be between {low} and {high}")
            value = wanted(value)
        out[name] = value
    if "texts" in out and "inputs" in out:
        raise ValueError("give one of the probe options 'texts' and 'inputs'")
    return out


def probe(value: Any, options: Any = None) -> Any:
    """A course object (or a tuple/list/dict of them) as Probes and plain values."""
    state = _ProbeState(probe_options(options))
    return _probe_any(value, state, 0)


class _ProbeState:
    def __init__(self, options: dict) -> None:
        self.options = options
        self.seconds = options.get("seconds", 30.0)
        self.deadline = _monotonic() + self.seconds
        fields = options.get("fields")
        self.fields = None if fields is None else frozenset(fields)

    def k(self, what: str) -> int:
        k = self.options.get("k", _DEFAULT_K[what])
        return min(k, _MAX_DATASET_K) if what == "dataset" else k

    def out_of_time(self) -> bool:
        return _monotonic() > self.deadline


class _Leaves:
    """How many numbers and strings a probe may still hold; notes that something was cut."""

    def __init__(self, limit: int) -> None:
        self.left = limit
        self.truncated = False

    def take(self, n: int) -> int:
        """Up to n of what is left; marks truncation when fewer than n remain."""
        got = max(0, min(n, self.left))
        if got < n:
            self.truncated = True
        self.left -= got
        return got


class _Reader:
    """Reads one field at a time into a Probe; a failure is recorded, never raised."""

    def __init__(self, kind: str, state: _ProbeState) -> None:
        self.out = Probe(kind=kind)
        self.state = state
        self.errors: dict[str, str] = {}
        self.truncated: list[str] = []

    def wants(self, name: str) -> bool:
        return self.state.fields is None or name in self.state.fields

    def read(self, name: str, getter: Any) -> None:
        if not self.wants(name):
            return
        if self.state.out_of_time():
            self.errors[name] = (
                f"could not read {name}: the probe ran out of time ({self.state.seconds:g} s)"
            )
            return
        leaves = _Leaves(PROBE_LEAVES)
        try:
            self.out[name] = getter(leaves)
        except Exception as exc:  # noqa: BLE001 - the member's object may fail in any way
            self.errors[name] = f"could not read {name}: {_error_text(exc)}"
            return
        if leaves.truncated:
            self.truncated.append(name)

    def fail(self, name: str, message: str) -> None:
        if self.wants(name):
            self.errors[name] = f"could not read {name}: {message}"

    def done(self) -> Probe:
        if self.errors:
            self.out["errors"] = dict(self.errors)
        if self.truncated:
            self.out["truncated"] = list(self.truncated)
        return self.out


def _error_text(exc: BaseException) -> str:
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001
        message = "<no message>"
    message = " ".join(message.split())
    return f"{type(exc).__name__}: {message}"[:300]


def _mro_names(value: Any) -> set:
    names = set()
    for cls in getattr(type(value), "__mro__", ()):
        module = getattr(cls, "__module__", "") or ""
        if module.split(".")[0] in {"keras", "tf_keras", "tensorflow", "keras_preprocessing"}:
            names.add(cls.__name__)
    return names


def _course_kind(value: Any) -> str | None:
    """Which prober reads value, or None for plain data."""
    if type(value) in _PLAIN or value is None or isinstance(value, (bool, Probe)):
        return None
    if _is_keras_model(value):
        return "Model"
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        try:
            if isinstance(value, tf.data.Dataset):
                return "Dataset"
        except Exception:  # noqa: BLE001 - a half-imported TensorFlow
            pass
    names = _mro_names(value)
    for kind in ("TextVectorization", "StringLookup", "IntegerLookup"):
        if kind in names:
            return kind
    if "Tokenizer" in names and hasattr(value, "texts_to_sequences"):
        return "Tokenizer"
    if "History" in names and isinstance(getattr(value, "history", None), dict):
        return "History"
    return None


def _holds_course_object(value: Any, depth: int) -> bool:
    if _course_kind(value) is not None:
        return True
    if depth >= 2:
        return False
    if isinstance(value, (list, tuple)):
        return any(_holds_course_object(v, depth + 1) for v in value[:50])
    if isinstance(value, dict):
        return any(_holds_course_object(v, depth + 1) for v in list(value.values())[:50])
    return False


def _probe_any(value: Any, state: _ProbeState, depth: int) -> Any:
    kind = _course_kind(value)
    if kind is not None:
        return _PROBERS[kind](value, state)
    if depth < 3 and isinstance(value, (list, tuple)) and _holds_course_object(value, 0):
        items = [_probe_any(v, state, depth + 1) for v in value[:50]]
        return tuple(items) if isinstance(value, tuple) else items
    if depth < 3 and isinstance(value, dict) and _holds_course_object(value, 0):
        return {str(k)[:200]: _probe_any(v, state, depth + 1) for k, v in list(value.items())[:50]}
    if value is None or type(value) in (bool, int, float):
        return value
    if type(value) is str:
        return value[:PROBE_TEXT]
    if isinstance(value, dict):
        return _probe_dict(value, state)
    if isinstance(value, (list, tuple)):
        return _probe_list(value, state)
    if _as_array(value) is not None:
        return _probe_array(value, state)
    return Probe(kind="object", type=_qualname(value)[:REPR_LIMIT])


# plain data ------------------------------------------------------------------------


def _as_array(value: Any) -> Any:
    """value as a numpy array when it is one (or a tensor / numpy scalar), else None."""
    np = sys.modules.get("numpy")
    if np is None:
        return None
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, np.generic):
        return np.asarray(value)
    module = (type(value).__module__ or "").split(".")[0]
    if module in {"tensorflow", "keras", "tf_keras"} and "Ragged" not in type(value).__name__:
        to_numpy = getattr(value, "numpy", None)
        if callable(to_numpy):
            array = to_numpy()
            return array if isinstance(array, np.ndarray) else np.asarray(array)
    return None


def _plainify(value: Any, leaves: _Leaves, depth: int = 0) -> Any:
    """Nested lists of plain numbers and strings, cut once `leaves` runs out."""
    if depth > 20:
        leaves.truncated = True
        return None
    if value is None or type(value) in (bool, int):
        leaves.take(1)
        return value
    if type(value) is float:
        leaves.take(1)
        return value
    if isinstance(value, (str, bytes)):
        leaves.take(1)
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if len(text) > PROBE_TEXT:
            leaves.truncated = True
            text = text[:PROBE_TEXT]
        return text
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if leaves.left <= 0:
                leaves.truncated = True
                break
            out[str(k)[:200]] = _plainify(v, leaves, depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        out_list = []
        for v in value:
            if leaves.left <= 0:
                leaves.truncated = True
                break
            out_list.append(_plainify(v, leaves, depth + 1))
        return out_list
    if "Ragged" in type(value).__name__ and callable(getattr(value, "to_list", None)):
        return _plainify(value.to_list(), leaves, depth + 1)
    array = _as_array(value)
    if array is not None:
        return _plainify_array(array, leaves, depth)
    if isinstance(value, (int, float)):  # int/float subclasses (IntEnum, ...)
        leaves.take(1)
        return float(value) if isinstance(value, float) else int(value)
    leaves.take(1)
    return f"<{_qualname(value)[:100]}>"


def _plainify_array(array: Any, leaves: _Leaves, depth: int) -> Any:
    if array.ndim == 0:
        return _plainify(array.item(), leaves, depth + 1)
    if array.dtype.kind in "biuf" and array.size <= leaves.left:
        leaves.take(array.size)
        return array.tolist()
    if array.dtype.kind in "biuf" and array.ndim == 1:
        n = leaves.take(array.size)
        return array[:n].tolist()
    out = []
    for row in array:
        if leaves.left <= 0:
            leaves.truncated = True
            break
        out.append(_plainify(row, leaves, depth + 1))
    return out


def _digest(value: Any) -> str | None:
    """A hash of the whole value, or None when it holds floats (they compare with a tolerance)
    or is too large to hash quickly."""
    leaves = _Leaves(PROBE_DIGEST_LEAVES)
    plain = _plainify(value, leaves)
    if leaves.truncated or _has_float(plain, 0):
        return None
    text = _json_dumps(plain, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return _sha256(text.encode("utf-8", "replace")).hexdigest()[:32]


def _has_float(value: Any, depth: int) -> bool:
    if isinstance(value, float):
        return True
    if depth > 30:
        return False
    if isinstance(value, list):
        return any(_has_float(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(_has_float(v, depth + 1) for v in value.values())
    return False


def _probe_list(value: Any, state: _ProbeState) -> Probe:
    reader = _Reader("list", state)
    head = state.options.get("head", 10)
    reader.read("length", lambda leaves: len(value))
    reader.read("head", lambda leaves: _plainify(list(value[:head]), leaves))
    reader.read("digest", lambda leaves: _digest(list(value)))
    return reader.done()


def _probe_dict(value: Any, state: _ProbeState) -> Probe:
    reader = _Reader("dict", state)
    head = state.options.get("head", 10)
    reader.read("length", lambda leaves: len(value))
    reader.read(
        "head",
        lambda leaves: [_plainify([k, v], leaves) for k, v in list(value.items())[:head]],
    )
    reader.read("digest", lambda leaves: _digest({str(k): v for k, v in value.items()}))
    return reader.done()


def _probe_array(value: Any, state: _ProbeState) -> Probe:
    reader = _Reader("array", state)
    array = _as_array(value)
    head = state.options.get("head", 10)
    reader.read("dtype", lambda leaves: str(array.dtype))
    reader.read("shape", lambda leaves: [int(n) for n in array.shape])
    reader.read("head", lambda leaves: _plainify(array[:head] if array.ndim else array, leaves))
    if array.dtype.kind == "f":
        np = sys.modules["numpy"]
        reader.read("mean", lambda leaves: float(np.mean(array, dtype=np.float64)))
        reader.read("abs_mean", lambda leaves: float(np.mean(np.abs(array), dtype=np.float64)))
    else:
        reader.read("digest", lambda leaves: _digest(array))
    return reader.done()


# text -----------------------------------------------------------------------------------


def _probe_inputs(state: _ProbeState) -> Any:
    return state.options.get("texts", state.options.get("inputs"))


def _config_value(value: Any) -> Any:
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, (list, tuple)):
        return [_config_value(v) for v in value[:20]]
    if callable(value):
        return "a custom function"  # names differ between solutions; outputs show the effect
    return f"<{_qualname(value)[:100]}>"


def _probe_tokenizer(tok: Any, state: _ProbeState) -> Probe:
    reader = _Reader("Tokenizer", state)
    k = state.k("vocabulary")

    def head(leaves: _Leaves) -> list:
        pairs = sorted(dict(tok.word_index).items(), key=lambda kv: (kv[1], str(kv[0])))
        return _plainify([word for word, _ in pairs[:k]], leaves)

    reader.read("vocabulary_size", lambda leaves: len(tok.word_index))
    reader.read("vocabulary_head", head)
    for name in ("num_words", "oov_token", "lower", "char_level", "document_count"):
        reader.read(name, lambda leaves, name=name: _config_value(getattr(tok, name)))
    texts = _probe_inputs(state)
    if texts is not None:
        reader.read(
            "outputs",
            lambda leaves: _plainify(tok.texts_to_sequences([str(t) for t in texts]), leaves),
        )
    return reader.done()


def _call_layer(layer: Any, inputs: list) -> Any:
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return layer(inputs)
    return layer(tf.constant(inputs))


def _probe_layer(kind: str, config_keys: tuple) -> Any:
    def read_layer(layer: Any, state: _ProbeState) -> Probe:
        reader = _Reader(kind, state)
        k = state.k("vocabulary")
        reader.read("vocabulary_size", lambda leaves: int(layer.vocabulary_size()))
        reader.read("vocabulary_head", lambda leaves: _plainify(layer.get_vocabulary()[:k], leaves))
        try:
            config = layer.get_config()
        except Exception as exc:  # noqa: BLE001
            for name in config_keys:
                reader.fail(name, f"get_config() failed: {_error_text(exc)}")
        else:
            for name in config_keys:
                reader.read(name, lambda leaves, name=name: _config_value(config[name]))
        inputs = _probe_inputs(state)
        if inputs is not None:
            reader.read("outputs", lambda leaves: _plainify(_call_layer(layer, inputs), leaves))
        return reader.done()

    return read_layer


_VECTORIZER_CONFIG = (
    "max_tokens",
    "output_mode",
    "output_sequence_length",
    "standardize",
    "split",
    "ngrams",
)
_LOOKUP_CONFIG = (
    "max_tokens",
    "num_oov_indices",
    "mask_token",
    "oov_token",
    "output_mode",
    "invert",
)


# datasets ------------------------------------------------------------------------------


def _shape_text(shape: Any) -> str:
    try:
        dims = shape.as_list()
    except (AttributeError, ValueError):
        return "(unknown rank)" if hasattr(shape, "as_list") else str(shape)[:100]
    inner = ", ".join("None" if d is None else str(d) for d in dims)
    return f"({inner},)" if len(dims) == 1 else f"({inner})"


def _spec_text(spec: Any, depth: int = 0) -> Any:
    """An element_spec as strings such as 'int32 (None, 120)', in its structure."""
    if depth > 10:
        return "..."
    if isinstance(spec, dict):
        return {str(k)[:200]: _spec_text(v, depth + 1) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return [_spec_text(v, depth + 1) for v in spec]
    dtype = getattr(spec, "dtype", None)
    shape = getattr(spec, "shape", None)
    if dtype is not None and shape is not None:
        name = getattr(dtype, "name", str(dtype))
        prefix = ""
        for word in ("Ragged", "Sparse"):
            if word in type(spec).__name__:
                prefix = word.lower() + " "
        return f"{prefix}{name} {_shape_text(shape)}"
    return type(spec).__name__


def _structure_shapes(element: Any, depth: int = 0) -> Any:
    if depth > 10:
        return None
    if isinstance(element, dict):
        return {str(k)[:200]: _structure_shapes(v, depth + 1) for k, v in element.items()}
    if isinstance(element, (list, tuple)):
        return [_structure_shapes(v, depth + 1) for v in element]
    shape = getattr(element, "shape", None)
    if shape is None:
        return None
    try:
        return [None if d is None else int(d) for d in shape]
    except (TypeError, ValueError):
        return _shape_text(shape)


def _cardinality(ds: Any) -> Any:
    n = ds.cardinality()
    n = int(n.numpy() if hasattr(n, "numpy") else n)
    return {-1: "infinite", -2: "unknown"}.get(n, n)


def _probe_dataset(ds: Any, state: _ProbeState) -> Probe:
    reader = _Reader("Dataset", state)
    k = state.k("dataset")
    reader.read("element_spec", lambda leaves: _spec_text(ds.element_spec))
    reader.read("cardinality", lambda leaves: _cardinality(ds))
    if k == 0 or not (reader.wants("elements") or reader.wants("shapes")):
        return reader.done()
    elements: list = []
    try:
        iterator = iter(ds.take(k))
        while len(elements) < k:
            if state.out_of_time():
                reader.fail("elements", f"the probe ran out of time ({state.seconds:g} s)")
                break
            try:
                elements.append(next(iterator))
            except StopIteration:
                break
    except Exception as exc:  # noqa: BLE001
        reader.fail("elements", f"iterating the dataset failed: {_error_text(exc)}")
        reader.fail("shapes", f"iterating the dataset failed: {_error_text(exc)}")
        return reader.done()
    reader.read("shapes", lambda leaves: [_structure_shapes(e) for e in elements])
    if "elements" not in reader.errors:
        reader.read("elements", lambda leaves: _plainify(elements, leaves))
    return reader.done()


# models and training ---------------------------------------------------------------------


def _build_if_unbuilt(model: Any, input_shape: Any) -> str | None:
    """Build an unbuilt model: with the spec's input shape, else (course-era code) with the
    input_length the kernel shim kept on its first Embedding. Returns why it failed."""
    try:
        if getattr(model, "built", False):
            return None
        shape = None
        if input_shape:
            shape = tuple(input_shape) if input_shape[0] is None else (None, *input_shape)
        elif any(cls.__name__ == "Sequential" for cls in type(model).__mro__):
            layers = list(getattr(model, "layers", []) or [])
            length = getattr(layers[0], "_adventures_input_length", None) if layers else None
            if isinstance(length, int) and not isinstance(length, bool) and length > 0:
                shape = (None, length)
        if shape is None:
            return None
        model.build(shape)
    except Exception as exc:  # noqa: BLE001 - reported as the reason it is not built
        return f"building it with input shape {_shape_text_of(shape)} failed: {_error_text(exc)}"
    return None


def _shape_text_of(shape: Any) -> str:
    if not isinstance(shape, tuple):
        return str(shape)
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def _snake(name: str) -> str:
    out = []
    for i, c in enumerate(name):
        if c.isupper() and i and (name[i - 1].islower() or name[i - 1].isdigit()):
            out.append("_")
        out.append(c.lower())
    return "".join(out)


def _loss_name(loss: Any, depth: int = 0) -> Any:
    if loss is None:
        return None
    if isinstance(loss, str):
        return _snake(loss)
    if depth < 2 and isinstance(loss, (list, tuple)):
        return [_loss_name(v, depth + 1) for v in loss[:20]]
    if depth < 2 and isinstance(loss, dict):
        return {str(k)[:100]: _loss_name(v, depth + 1) for k, v in list(loss.items())[:20]}
    name = getattr(loss, "name", None)
    if isinstance(name, str) and name:
        return _snake(name)
    name = getattr(loss, "__name__", None)
    return _snake(name) if isinstance(name, str) else _snake(type(loss).__name__)


_UNBUILT_MESSAGE = (
    "the model is not built, so it has no weights yet (give it keras.Input(shape=...) "
    "as its first layer or call model.build(...))"
)


def _probe_model(model: Any, state: _ProbeState) -> Probe:
    reader = _Reader("Model", state)
    problem = _build_if_unbuilt(model, state.options.get("input_shape"))
    built = bool(getattr(model, "built", False))
    reader.read("class", lambda leaves: type(model).__name__)
    reader.read(
        "layers",
        lambda leaves: [
            type(layer).__name__
            for layer in list(model.layers)[:500]
            if type(layer).__name__ != "InputLayer"
        ],
    )
    reader.read("built", lambda leaves: built)
    unbuilt = problem or _UNBUILT_MESSAGE
    for name, getter in (
        ("output_shape", lambda leaves: _shape_to_json(model.output_shape)),
        ("params", lambda leaves: int(model.count_params())),
        ("trainable_params", lambda leaves: _count(model.trainable_weights)),
        ("non_trainable_params", lambda leaves: _count(model.non_trainable_weights)),
    ):
        if built:
            reader.read(name, getter)
        else:
            reader.fail(name, unbuilt)
    reader.read("loss", lambda leaves: _loss_name(getattr(model, "loss", None)))
    reader.read(
        "optimizer",
        lambda leaves: (
            None if getattr(model, "optimizer", None) is None else type(model.optimizer).__name__
        ),
    )
    return reader.done()


def _probe_history(history: Any, state: _ProbeState) -> Probe:
    reader = _Reader("History", state)
    logs = history.history
    reader.read("keys", lambda leaves: sorted(str(k) for k in logs)[:100])
    reader.read(
        "epochs",
        lambda leaves: len(getattr(history, "epoch", None) or next(iter(logs.values()), [])),
    )
    reader.read(
        "last",
        lambda leaves: {
            str(k): _plainify(v[-1], leaves) for k, v in list(logs.items())[:100] if len(v)
        },
    )
    return reader.done()


_PROBERS = {
    "Tokenizer": _probe_tokenizer,
    "TextVectorization": _probe_layer("TextVectorization", _VECTORIZER_CONFIG),
    "StringLookup": _probe_layer("StringLookup", _LOOKUP_CONFIG),
    "IntegerLookup": _probe_layer("IntegerLookup", _LOOKUP_CONFIG),
    "Dataset": _probe_dataset,
    "Model": _probe_model,
    "History": _probe_history,
}
