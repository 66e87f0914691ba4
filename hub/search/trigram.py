"""pg_trgm's ``similarity()`` in Python, for the embedded SQLite database.

PostgreSQL answers typo look-ups with pg_trgm (``term % word``, a GIN
trigram index); SQLite has no such thing, so the hub computes the same
number here over the vocabulary. As in pg_trgm: each word of the text (a run
of letters and digits, lower-cased) is padded with two spaces in front and
one behind, its trigrams are the distinct runs of three characters, and the
similarity of two texts is the number of trigrams they share divided by the
number of distinct trigrams of both. A test compares it with PostgreSQL's.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+")


@lru_cache(maxsize=65536)
def trigrams(text: str) -> frozenset[str]:
    found: set[str] = set()
    for word in _WORD.findall(text.lower()):
        padded = f"  {word} "
        found.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return frozenset(found)


def similarity(a: str, b: str) -> float:
    """pg_trgm's ``similarity(a, b)``: 0 (nothing shared) to 1 (the same trigrams)."""
    first, second = trigrams(a), trigrams(b)
    if not first or not second:
        return 0.0
    shared = len(first & second)
    return shared / (len(first) + len(second) - shared)
