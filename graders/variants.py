"""Per-member variants of a short answer: each member gets their own sizes, stably.

A spec's `variants` maps a parameter name to a list of choices; a member's
pick of each list comes from sha256(member key + name), so it never changes
between visits, differs between members, and needs no stored state.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from typing import Any

from graders.spec import AnswerSpec


def pick_index(member_key: str, name: str, n: int) -> int:
    """Stable index in range(n) for this member and parameter name."""
    digest = hashlib.sha256(f"{member_key}\0{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % n


def variant_for(spec: AnswerSpec, member_key: str) -> dict[str, Any]:
    """The spec's fixed params, overridden by this member's pick from each variant list."""
    params = dict(spec.params)
    for name, choices in sorted(spec.variants.items()):
        if choices:
            params[name] = choices[pick_index(member_key, name, len(choices))]
    return params


def variant_count(spec: AnswerSpec) -> int:
    count = 1
    for choices in spec.variants.values():
        count *= max(1, len(choices))
    return count


def all_variants(spec: AnswerSpec, limit: int = 64) -> Iterator[dict[str, Any]]:
    """The default params first, then every combination of variant choices, at most `limit` in all."""
    yield dict(spec.params)
    names = sorted(spec.variants)
    seen = 1
    for combo in itertools.product(*(spec.variants[n] for n in names)):
        if seen >= limit:
            return
        params = {**spec.params, **dict(zip(names, combo, strict=True))}
        if params == spec.params:
            continue
        seen += 1
        yield params
