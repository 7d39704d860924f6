"""Tagged JSON for the values that cross a trust boundary: sandbox -> grader, child -> parent.

Values travel as plain JSON with a few tagged objects ("__tuple__",
"__ndarray__", "__keras_model__", ...) so that a tuple stays a tuple and an
array keeps its dtype and shape, and nothing is ever unpickled.

This module is self-contained on purpose: the notebook grader injects its
source text into the sandboxed kernel. At module level it imports only the
standard library; numpy, TensorFlow and Keras are recognised through
`sys.modules`, so encoding never imports TensorFlow and decoding imports only
numpy, and only when a value holds an array.
"""

# No dataclasses here: the source is also exec()-ed outside sys.modules (in a
# kernel), where dataclasses cannot always resolve their annotations.
import base64
import json
import math
import sys
from typing import Any

MAX_DEPTH = 100
"""Nesting deeper than this is refused (also catches self-referencing lists)."""

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


def decode(obj: Any) -> Any:
    """Rebuild a value from encode()'s output (numpy is imported only for arrays)."""
    return _decode(obj, 0)


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
    """Decode JSON text made by dumps(); ValueError on malformed or oversized input."""
    if max_bytes is not None and len(text) > max_bytes:
        raise ValueError(f"encoded value larger than {max_bytes} bytes")
    try:
        obj = json.loads(text)
    except RecursionError as exc:
        raise ValueError("encoded value nested too deeply") from exc
    return decode(obj)


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


def _decode(obj: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ValueError(f"encoded value nested deeper than {MAX_DEPTH} levels")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        return [_decode(v, depth + 1) for v in obj]
    if not isinstance(obj, dict):
        raise ValueError(f"not an encoded value: {type(obj).__name__}")
    tag = next((k for k in obj if k in TAGS), None)
    if tag is None:
        return {k: _decode(v, depth + 1) for k, v in obj.items()}
    body = obj[tag]
    if tag == "__tuple__":
        return tuple(_decode(v, depth + 1) for v in _as_list(body, tag))
    if tag == "__set__":
        return {_hashable(_decode(v, depth + 1)) for v in _as_list(body, tag)}
    if tag == "__dict__":
        out = {}
        for pair in _as_list(body, tag):
            if not isinstance(pair, list) or len(pair) != 2:
                raise ValueError("__dict__ items must be [key, value] pairs")
            out[_hashable(_decode(pair[0], depth + 1))] = _decode(pair[1], depth + 1)
        return out
    if tag == "__float__":
        if body not in _FLOAT_NAMES:
            raise ValueError(f"unknown __float__ value {body!r}")
        return _FLOAT_NAMES[body]
    if tag == "__bytes__":
        try:
            return base64.b64decode(str(body), validate=True)
        except ValueError as exc:
            raise ValueError("bad __bytes__ value") from exc
    if tag == "__ndarray__":
        return _decode_array(obj, depth)
    if tag == "__keras_model__":
        return _decode_model(body)
    return Opaque(repr=str(body), type=str(obj.get("type", "object")))


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


def _decode_array(obj: dict[str, Any], depth: int) -> Any:
    import numpy as np

    try:
        dtype = np.dtype(str(obj.get("dtype", "float64")))
        shape = tuple(int(n) for n in obj.get("shape", []))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad __ndarray__ header: {exc}") from exc
    raw = obj["__ndarray__"]
    if dtype.kind in "biuf":
        try:  # fast path: plain numbers need no per-element decoding
            return _shaped(np.array(raw, dtype=dtype), shape)
        except (TypeError, ValueError):
            pass  # tagged NaN/inf inside, or malformed: decode element by element
    data = _decode(raw, depth + 1)
    try:
        if dtype.kind == "O":
            array = np.empty(shape, dtype=object)
            if shape:
                array[...] = data
            else:
                array[()] = data
        else:
            array = np.array(data, dtype=dtype).reshape(shape)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"__ndarray__ data does not fit shape {shape}: {exc}") from exc
    return array[()] if shape == () and dtype.kind != "O" else array


def _shaped(array: Any, shape: tuple) -> Any:
    try:
        array = array.reshape(shape)
    except ValueError as exc:
        raise ValueError(f"__ndarray__ data does not fit shape {shape}: {exc}") from exc
    return array[()] if shape == () else array


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
