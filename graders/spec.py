"""The schema every `exercises/<slug>/exercise.yaml` must satisfy.

One pydantic model so that `adventures seed`, `adventures exercises check` and
the workers agree on what a spec means, and a bad spec fails with the file,
the field and what is wrong.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

# How a produced value is compared with the reference value (graders/compare.py).
Compare = Literal[
    "exact",  # == after JSON round trip (tuples become lists)
    "int",  # integers, answer may be written "171,533" or "171_533"
    "float",  # one number within rtol/atol
    "set",  # same elements, any order
    "dict",  # same keys and values; diff names missing/extra/changed keys
    "allclose",  # arrays/nested lists within rtol/atol; shape and dtype named on mismatch
    "shape",  # a shape tuple; None matches None
    "text",  # strings equal after normalising case, whitespace and punctuation
    "param_count",  # a keras model summary or an int: its total parameter count
    "model",  # a keras model summary: params, layer kinds, output shape
    "probe",  # a course object turned into plain JSON (graders/probes.py): key-by-key diff
]


_TARGET = re.compile(r"^reference(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnswerSpec(_Strict):
    """A short answer whose expected value a reference function computes."""

    reference: str = Field(description="'module:function' importable from reference/")
    params: dict[str, Any] = Field(default_factory=dict, description="fixed keyword arguments")
    variants: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="per-member choices: each member gets a stable pick of each list",
    )
    compare: Compare = "exact"
    rtol: float = 1e-6
    atol: float = 0.0
    format: str = Field(description="what a well-formed answer looks like, for 400 messages")
    hint: str = Field(description="shown after a wrong answer; never the expected value")
    course_value: Any = Field(
        default=None,
        description="the value printed in the course material, asserted by tests",
    )

    @field_validator("reference")
    @classmethod
    def _is_target(cls, value: str) -> str:
        if not _TARGET.fullmatch(value):
            raise ValueError(
                "must be 'module:function' under reference/, e.g. 'reference.answers:word_index'"
            )
        return value

    @field_validator("variants")
    @classmethod
    def _variants_usable(cls, value: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for name, choices in value.items():
            if not name.isidentifier():
                raise ValueError(f"variant name {name!r} is not a valid parameter name")
            if not choices:
                raise ValueError(f"variant {name!r} needs at least one choice")
        return value

    @field_validator("rtol", "atol")
    @classmethod
    def _non_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError("must be >= 0")
        return value


class CheckSpec(_Strict):
    """One call of a member's function, or one expression read from their notebook, compared
    with the reference's value."""

    name: str
    function: str | None = Field(
        default=None, description="the member's function to call (or give 'expression')"
    )
    expression: str | None = Field(
        default=None,
        description="a Python expression evaluated in the member's namespace after all their "
        "cells ran (len(word_index), padded.shape): for notebooks without functions, whose "
        "cells print what they computed; only with a 'solution' notebook, no args/kwargs/setup",
    )
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    setup: str | None = Field(
        default=None,
        description="python run before the call in harness and reference alike; "
        "args/kwargs may name its variables as {'$var': name}",
    )
    compare: Compare = "exact"
    rtol: float = 1e-5
    atol: float = 1e-5
    points: float = 1.0
    visibility: Literal["visible", "hidden"] = "visible"
    hint: str | None = None
    probe: dict[str, Any] = Field(
        default_factory=dict,
        description="how a course object the function returns (Tokenizer, TextVectorization, "
        "StringLookup, tf.data.Dataset, Keras model, History, or a tuple of them) becomes plain "
        "JSON inside the sandbox, for compare 'probe': texts/inputs (up to 100, run through a "
        "tokenizer/vectorizer/lookup), k (vocabulary entries, default 20; dataset elements, "
        "default 2), head (items of a plain list/array, default 10), input_shape (builds an "
        "unbuilt model; no batch dimension unless it starts with null), fields (only these "
        "are read and compared), seconds (time allowed, default 30); see graders/probes.py",
    )
    globals: list[str] = Field(
        default_factory=list,
        description="names in args/kwargs written {'$global': name} resolve in the member's "
        "namespace after their cells ran (a dataset or array the notebook built)",
    )

    @field_validator("probe")
    @classmethod
    def _probe_options_known(cls, value: dict[str, Any]) -> dict[str, Any]:
        from graders.codec import probe_options

        probe_options(value)  # ValueError names the option
        return value

    @model_validator(mode="after")
    def _function_or_expression(self) -> CheckSpec:
        if (self.function is None) == (self.expression is None):
            raise ValueError("give exactly one of 'function' (a call) and 'expression'")
        if self.function is not None and not self.function.isidentifier():
            raise ValueError(f"function {self.function!r} is not a Python name")
        if self.expression is not None:
            if not self.expression.strip():
                raise ValueError("expression must not be empty")
            try:
                compile(self.expression, "<check expression>", "eval")
            except (SyntaxError, ValueError) as exc:
                raise ValueError(
                    f"expression {self.expression!r} is not valid Python: {exc}"
                ) from None
            extra = [k for k in ("args", "kwargs", "setup", "globals") if getattr(self, k)]
            if extra:
                raise ValueError(
                    f"an expression check takes no {', '.join(extra)}: it reads the member's "
                    "namespace directly"
                )
        return self


class TrainingCap(_Strict):
    cap: int = Field(ge=1, le=1000, description="epochs any fit() may run")


class DatasetUse(_Strict):
    """A dataset from the store (`adventures data add`) that the notebook reads."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
    paths: list[str] = Field(
        default_factory=list,
        description="more places it appears besides ./data/NAME, e.g. /tmp/glove.6B.100d.txt",
    )

    @field_validator("paths")
    @classmethod
    def _absolute_or_relative(cls, value: list[str]) -> list[str]:
        for path in value:
            if "\x00" in path or ".." in Path(path).parts or not path.strip():
                raise ValueError(f"path {path!r} must not be empty or contain '..'")
            if path.startswith("/") and not path.startswith(("/tmp/", "/home/student/")):
                raise ValueError(
                    f"path {path!r}: an absolute path must lie under /tmp/ or /home/student/"
                )
        return value


class NotebookSpec(_Strict):
    """A notebook exercise: functions the member writes, checked outside their kernel."""

    starter: str = "starter.ipynb"
    reference: str | None = Field(
        default=None, description="module under reference/ defining the same functions"
    )
    solution: str | None = Field(
        default=None,
        description="a solved notebook in the exercise folder: reference values come from "
        "running it in the sandbox with the same checks (imported course notebooks)",
    )
    training: Literal["skip", "full"] | TrainingCap | None = Field(
        default=None,
        description="skip: top-level statements calling .fit( are not run (checks need the "
        "graded functions, not trained weights); {cap: N}: every fit runs at most N epochs; "
        "full: training runs as written, on the GPU worker when there is one, and one cell may "
        "use the whole time_limit (raise it for real training); unset: run as written",
    )
    datasets: list[DatasetUse] = Field(default_factory=list)
    time_limit: int = Field(default=180, ge=5, le=1800, description="whole run, seconds")
    cell_timeout: int = Field(default=60, ge=1, le=1800)
    requires_gpu: bool = False
    checks: list[CheckSpec] = Field(min_length=1)

    @property
    def prefers_gpu(self) -> bool:
        """Queued for the GPU workers: declared so, or training in full."""
        return self.requires_gpu or self.training == "full"

    @model_validator(mode="after")
    def _one_reference(self) -> NotebookSpec:
        if (self.reference is None) == (self.solution is None):
            raise ValueError(
                "give exactly one of 'reference' (a module) and 'solution' (a notebook)"
            )
        if self.reference is not None:
            reads = [c.name for c in self.checks if c.expression is not None]
            if reads:
                raise ValueError(
                    f"check {reads[0]!r} reads an 'expression' from the member's notebook, "
                    "which a reference module cannot answer: use a 'solution' notebook"
                )
        return self


class ExerciseSpec(_Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    title: str = Field(min_length=3, max_length=200)
    kind: Literal["answer", "notebook"]
    week: int = Field(ge=0, le=4)
    points: float = Field(gt=0)
    prompt: str = Field(
        min_length=1, description="markdown; {{name}} is replaced by a variant value"
    )
    code: str | None = Field(default=None, description="python shown highlighted under the prompt")
    tags: list[str] = Field(default_factory=list)
    position: int = 0
    answer: AnswerSpec | None = None
    notebook: NotebookSpec | None = None

    @model_validator(mode="after")
    def _kind_has_its_section(self) -> ExerciseSpec:
        if self.kind == "answer" and (self.answer is None or self.notebook is not None):
            raise ValueError("kind 'answer' needs an 'answer' section and no 'notebook' section")
        if self.kind == "notebook" and (self.notebook is None or self.answer is not None):
            raise ValueError("kind 'notebook' needs a 'notebook' section and no 'answer' section")
        return self

    @model_validator(mode="after")
    def _placeholders_defined(self) -> ExerciseSpec:
        if self.answer is None:
            return self
        known = set(self.answer.params) | set(self.answer.variants)
        for where, text in (("prompt", self.prompt), ("code", self.code or "")):
            unknown = sorted(set(_PLACEHOLDER.findall(text)) - known)
            if unknown:
                raise ValueError(
                    f"{where} uses {{{{{unknown[0]}}}}} but answer.params/variants define no '{unknown[0]}'"
                )
        return self


class SpecError(ValueError):
    """A spec file that cannot be used; the message names the file and the field."""


def load_spec(path: Path) -> ExerciseSpec:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: cannot read YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping at the top level")
    try:
        spec = ExerciseSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SpecError(f"{path}: {problems}") from exc
    if spec.slug != path.parent.name:
        raise SpecError(f"{path}: slug: '{spec.slug}' must equal its folder '{path.parent.name}'")
    return spec
