"""The child process behind graders.reference.ReferenceRunner.

It imports the reference modules (and so TensorFlow) once and answers one
JSON request per stdin line with one JSON response per line on a private copy
of stdout; file descriptor 1 is pointed at stderr first, so anything the
reference code or TensorFlow prints cannot corrupt the protocol. Values go
back through graders.codec, never pickle.

Requests:  {"op": "ping"}
           {"op": "warm", "modules": ["answers", ...]}  (import now, answer later calls fast)
           {"op": "call", "target": "reference.answers:word_index", "kwargs": {...}}
           {"op": "evaluate", "module": "...", "function": "...", "args": [...],
            "kwargs": {...}, "setup": "python source or null"}
Responses: {"ok": true, "value": <codec>} or
           {"ok": false, "error": "TypeName", "message": "...", "traceback": "..."}
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import sys
import traceback
from types import ModuleType
from typing import Any

from graders import codec

SEED = 0


def resolve_module(name: str) -> str:
    """'tokenizer' -> 'reference.tokenizer'; only modules of the reference package are allowed."""
    name = name.strip()
    if name != "reference" and not name.startswith("reference."):
        name = f"reference.{name}"
    parts = name.split(".")
    if not all(part.isidentifier() for part in parts):
        raise ValueError(f"not a module name: {name!r}")
    return name


def split_target(target: str) -> tuple[str, str]:
    module, sep, function = target.partition(":")
    if not sep or not function.isidentifier():
        raise ValueError(f"target must be 'module:function', got {target!r}")
    return resolve_module(module), function


def _import(module: str) -> ModuleType:
    return importlib.import_module(module)


def _seed() -> None:
    """Same seeds before every request, so a reference value never depends on request order."""
    random.seed(SEED)
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed(SEED)
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.utils.set_random_seed(SEED)
    elif "tensorflow" in sys.modules:
        sys.modules["tensorflow"].random.set_seed(SEED)


def _substitute(value: Any, namespace: dict[str, Any]) -> Any:
    """Replace {"$var": name} items by the setup namespace's variables."""
    if isinstance(value, dict):
        if set(value) == {"$var"}:
            name = value["$var"]
            if name not in namespace:
                raise NameError(f"setup defines no variable {name!r}")
            return namespace[name]
        if set(value) == {"$global"}:
            raise NameError(
                f"{{'$global': {value['$global']!r}}} names a variable of the member's notebook, "
                "which a reference module does not have: build it in setup and use "
                "{'$var': name}, or take reference values from a solution notebook"
            )
        return {k: _substitute(v, namespace) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, namespace) for v in value]
    if isinstance(value, tuple):
        return tuple(_substitute(v, namespace) for v in value)
    return value


def call(target: str, kwargs: dict[str, Any]) -> Any:
    module, function = split_target(target)
    fn = getattr(_import(module), function)
    return fn(**kwargs)


def evaluate(module: str, function: str, args: list, kwargs: dict, setup: str | None) -> Any:
    """Run setup in a copy of the module's globals, then call function (setup may define it)."""
    mod = _import(resolve_module(module))
    namespace = dict(vars(mod))
    if setup:
        exec(compile(setup, f"<setup for {module}.{function}>", "exec"), namespace)  # noqa: S102 - trusted spec text
    fn = namespace[function] if callable(namespace.get(function)) else getattr(mod, function)
    return fn(*_substitute(list(args), namespace), **_substitute(dict(kwargs), namespace))


def handle(request: dict[str, Any], max_bytes: int | None) -> dict[str, Any]:
    op = request.get("op")
    try:
        _seed()
        if op == "ping":
            value: Any = os.getpid()
        elif op == "warm":
            for module in request["modules"]:
                _import(resolve_module(str(module)))
            value = os.getpid()
        elif op == "call":
            value = call(str(request["target"]), codec.decode(request.get("kwargs") or {}))
        elif op == "evaluate":
            value = evaluate(
                str(request["module"]),
                str(request["function"]),
                codec.decode(request.get("args") or []),
                codec.decode(request.get("kwargs") or {}),
                request.get("setup"),
            )
            if request.get("probe") is not None:  # read as the harness reads the member's
                value = codec.probe(value, request["probe"])
        else:
            raise ValueError(f"unknown op {op!r}")
        return {"ok": True, "value": codec.encode(value, max_bytes=max_bytes)}
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - every failure goes back to the parent
        return {
            "ok": False,
            "error": type(exc).__name__,
            "message": str(exc)[:2000],
            "traceback": traceback.format_exc()[-8000:],
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", required=True, help="folder holding the reference/ package")
    parser.add_argument("--max-bytes", type=int, default=None)
    opts = parser.parse_args(argv)
    sys.path.insert(0, opts.root)

    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("a request must be a JSON object")
        except ValueError as exc:
            response = {"ok": False, "error": "ProtocolError", "message": str(exc), "traceback": ""}
        else:
            if request.get("op") == "exit":
                break
            response = handle(request, opts.max_bytes)
        channel.write(json.dumps(response, allow_nan=False, separators=(",", ":")) + "\n")
        channel.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
