"""Every bundled key_from resolves through the real reference solutions (imports TensorFlow)."""

from __future__ import annotations

import pytest

from graders.reference import ReferenceRunner
from graders.trivia import check_answer, load_banks, render_value, resolve_keys

from .test_trivia_banks import BANKS_DIR, fake_compute

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def computed():
    """Resolve every bundled bank once with the real runner, recording each computed value."""
    calls: list[tuple[str, dict, object]] = []
    with ReferenceRunner() as runner:

        def compute(target: str, kwargs: dict):
            value = runner.call(target, kwargs)
            calls.append((target, kwargs, value))
            return value

        banks = [resolve_keys(bank, compute) for bank in load_banks(BANKS_DIR)]
    return banks, calls


def test_every_bank_resolves_with_the_reference(computed):
    banks, calls = computed
    assert [b.unresolved for b in banks] == [[] for _ in banks]
    assert len(calls) >= 6


def test_the_reference_computes_what_the_course_printed(computed):
    """Ties the fast tests' stand-in table to the reference: the same value for every key."""
    for target, kwargs, value in computed[1]:
        assert render_value(value) == render_value(fake_compute(target, kwargs)), (target, kwargs)


def test_resolved_numeric_keys_accept_the_course_numbers(computed):
    resolved = {q.id: q for bank in computed[0] for q in bank.questions}
    for qid, typed in [
        ("imdb-params", "171,533"),
        ("bilstm-params", "598,209"),
        ("stacked-params", "635,329"),
        ("conv1d-params", "573,249"),
        ("two-conv-params", "622,529"),
        ("glove-total", "13,872,949"),
        ("glove-trainable", "2,449"),
        ("sonnets-params", "6,101,671"),
        ("perplexity-value", "4"),
    ]:
        assert check_answer(resolved[qid], typed).correct, qid
