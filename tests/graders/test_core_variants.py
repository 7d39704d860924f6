"""Per-member variants and content-hash cache keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from graders.reference import cache_key, check_key, reference_digest
from graders.spec import AnswerSpec
from graders.variants import all_variants, variant_count, variant_for

SPEC = AnswerSpec(
    reference="reference.answers:imdb_flatten_params",
    params={"vocab_size": 10000, "embedding_dim": 16, "max_length": 120},
    variants={"vocab_size": [5000, 8000, 10000, 12000], "embedding_dim": [8, 16, 32]},
    compare="param_count",
    format="a whole number",
    hint="count each layer",
)

MEMBERS = [f"member{i}" for i in range(200)]


def test_a_member_always_gets_the_same_variant():
    assert variant_for(SPEC, "alice") == variant_for(SPEC, "alice")
    assert variant_for(SPEC.model_copy(), "alice") == variant_for(SPEC, "alice")


def test_variant_picks_from_each_list_and_keeps_fixed_params():
    for member in MEMBERS[:20]:
        variant = variant_for(SPEC, member)
        assert variant["vocab_size"] in SPEC.variants["vocab_size"]
        assert variant["embedding_dim"] in SPEC.variants["embedding_dim"]
        assert variant["max_length"] == 120


def test_members_get_different_variants_and_every_choice_is_used():
    variants = [variant_for(SPEC, m) for m in MEMBERS]
    assert len({tuple(sorted(v.items())) for v in variants}) == variant_count(SPEC) == 12
    for name, choices in SPEC.variants.items():
        assert {v[name] for v in variants} == set(choices)


def test_each_parameter_is_picked_independently():
    pairs = {
        (variant_for(SPEC, m)["vocab_size"], variant_for(SPEC, m)["embedding_dim"]) for m in MEMBERS
    }
    assert len(pairs) == 12


def test_no_variants_means_the_fixed_params():
    plain = SPEC.model_copy(update={"variants": {}})
    assert variant_for(plain, "bob") == SPEC.params


def test_all_variants_starts_with_the_default_and_respects_the_cap():
    every = list(all_variants(SPEC, limit=100))
    assert every[0] == SPEC.params
    assert len(every) == 12  # the default is one of the 12 combinations
    assert len({tuple(sorted(v.items())) for v in every}) == 12
    assert len(list(all_variants(SPEC, limit=5))) == 5


def test_spec_rejects_empty_or_badly_named_variants():
    with pytest.raises(ValueError, match="at least one choice"):
        AnswerSpec(**{**SPEC.model_dump(), "variants": {"vocab_size": []}})
    with pytest.raises(ValueError, match="not a valid parameter name"):
        AnswerSpec(**{**SPEC.model_dump(), "variants": {"vocab size": [1]}})
    with pytest.raises(ValueError, match="module:function"):
        AnswerSpec(**{**SPEC.model_dump(), "reference": "os:system"})


# --- cache keys ------------------------------------------------------------------------


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "__init__.py").write_text("")
    (tmp_path / "reference" / "answers.py").write_text("def f(n):\n    return n\n")
    return tmp_path


def test_cache_key_is_stable_and_ignores_kwarg_order(root):
    a = cache_key("reference.answers:f", {"n": 1, "m": [1, 2]}, root=root)
    assert a == cache_key("reference.answers:f", {"m": [1, 2], "n": 1}, root=root)
    assert len(a) == 64 and int(a, 16) >= 0


def test_cache_key_differs_by_target_and_arguments(root):
    base = cache_key("reference.answers:f", {"n": 1}, root=root)
    assert cache_key("reference.answers:g", {"n": 1}, root=root) != base
    assert cache_key("reference.answers:f", {"n": 2}, root=root) != base
    assert cache_key("reference.answers:f", {"n": (1,)}, root=root) != cache_key(
        "reference.answers:f", {"n": [1]}, root=root
    )


def test_cache_key_changes_when_a_reference_file_changes(root):
    before = cache_key("reference.answers:f", {"n": 1}, root=root)
    (root / "reference" / "answers.py").write_text("def f(n):\n    return n + 1\n")
    edited = cache_key("reference.answers:f", {"n": 1}, root=root)
    assert edited != before
    (root / "reference" / "weights.json").write_text("[1, 2]")
    assert cache_key("reference.answers:f", {"n": 1}, root=root) != edited


def test_compiled_files_do_not_change_the_key(root):
    before = reference_digest(root)
    (root / "reference" / "__pycache__").mkdir()
    (root / "reference" / "__pycache__" / "answers.cpython-311.pyc").write_bytes(b"\x00compiled")
    assert reference_digest(root) == before


def test_check_key_names_one_evaluate_call(root):
    key = check_key(
        "reference.tokenizer", "encode", [["a b"]], {"oov_token": "<OOV>"}, None, root=root
    )
    assert key != check_key(
        "reference.tokenizer", "encode", [["a c"]], {"oov_token": "<OOV>"}, None, root=root
    )
    assert key != check_key(
        "reference.tokenizer", "encode", [["a b"]], {"oov_token": "<OOV>"}, "x = 1", root=root
    )
    assert key == check_key(
        "reference.tokenizer", "encode", (["a b"],), {"oov_token": "<OOV>"}, root=root
    )
